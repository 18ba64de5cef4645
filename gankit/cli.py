"""The ``gankit`` command: parse arguments, make one library call, print errors as one paragraph."""
import argparse
import importlib
import pkgutil
import sys
import warnings

from gankit import __version__, commands
from gankit.errors import GankitError, printable
from gankit.store.files import CANNOT_WRITE_ERRNOS, cannot_write


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gankit", description="Pluggable GAN experiments from YAML recipes.")
    p.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{info.name}").add_parser(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given (a record keeps it)
    # key=value overrides may also come after --options (argparse stops collecting them there)
    if hasattr(args, "overrides"):
        args.overrides += [e for e in extra if "=" in e and not e.startswith("-")]
        extra = [e for e in extra if not ("=" in e and not e.startswith("-"))]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    warnings.formatwarning = _format_warning
    try:
        return args.func(args)
    except GankitError as e:
        print(f"gankit: error: {printable(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # a folder that cannot be made or written (read-only, no permission, a file in the way)
        if e.errno not in CANNOT_WRITE_ERRNOS or e.filename is None:
            raise
        print(f"gankit: error: {printable(cannot_write(e.filename, e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted.", file=sys.stderr)
        return 130


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as one line without terminal control sequences (its text may quote recipe or file text)."""
    return printable(f"gankit: warning: {message}") + "\n"


if __name__ == "__main__":
    sys.exit(main())
