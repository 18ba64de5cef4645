"""gankit report RUN_DIR [--out FILE]: one self-contained HTML page about a run."""
from pathlib import Path

from gankit.errors import GankitError
from gankit.runs.report import write_report
from gankit.store.files import REPORT_FILE, check_path


def add_parser(sub) -> None:
    r = sub.add_parser("report", help=f"write RUN_DIR/{REPORT_FILE} (samples, curves, numbers, recipe, versions)")
    r.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by gankit train")
    r.add_argument("--out", help=f"where to write the HTML (default: RUN_DIR/{REPORT_FILE})")
    r.set_defaults(func=run)


def run(args) -> int:
    check_path(args.run_dir, "RUN_DIR")
    if args.out and not Path(args.out).parent.is_dir():
        raise GankitError(f"--out: folder {Path(args.out).parent} does not exist. Create it or choose another path.")
    print(write_report(args.run_dir, args.out))
    return 0
