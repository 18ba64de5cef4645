"""Finding components: the built-in modules, modules or files named by a recipe, installed packages.

Importing this module makes the registries fill themselves on their first read
(``registry.on_first_read(populate)``): the built-in component modules first, then every
installed plugin package. ``import gankit`` imports this module but reads no registry.
"""
import importlib
import importlib.machinery
import importlib.util
import sys
import traceback
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from omegaconf import DictConfig, open_dict

from gankit.config import registry
from gankit.errors import GankitError

ENTRY_POINT_GROUP = "gankit.plugins"

# Built-in components live in these modules; they are imported the first time any
# registry is read, so a registry is never missing a built-in because of import order.
BUILTIN_MODULES = (
    "gankit.models",
    "gankit.losses",
    "gankit.training.augment",
    "gankit.training.ada",
    "gankit.training.optim",
    "gankit.training.side_jobs",
    "gankit.data",
    "gankit.metrics",
)
_loaded_installed = False
_loaded_explicit: dict[str, object] = {}


@dataclass
class InstalledPlugin:
    """One ``gankit.plugins`` entry point and what became of it."""

    name: str  # the entry point's name
    value: str  # what it points at, e.g. ``my_pkg`` or ``my_pkg.gan:register``
    package: str | None  # the distribution that declares it
    version: str | None
    error: str | None = None  # "ExcType: message" when it failed to load

    @property
    def origin(self) -> str:
        return f"plugin {self.package} {self.version}" if self.package else f"plugin {self.value}"


# Every installed plugin seen by ``load_installed``, loaded or not (``gankit list`` shows them).
installed: list[InstalledPlugin] = []


def load(specs, base_dir: str | Path | None = None) -> None:
    """Import each plugin a recipe names: a module (``my_pkg.gan``) or a file (``./my_gan.py``).

    Relative file paths are resolved against ``base_dir`` (the recipe's folder) first,
    then the working directory. Errors name the plugin and stop the run.
    """
    for spec in specs or []:
        spec = str(spec)
        if spec in _loaded_explicit:
            continue
        if is_file_spec(spec):
            _loaded_explicit[spec] = _load_file(spec, base_dir)
        else:
            _loaded_explicit[spec] = _load_module(spec)


def is_file_spec(spec: str) -> bool:
    """Whether a ``plugins:`` entry names a file (``./my_gan.py``) rather than a module."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def absolute_plugins(cfg: DictConfig, recipe_dir=None) -> DictConfig:
    """The recipe with plugin *files* given as absolute paths (modules stay as they are).

    A relative file is found the way ``load`` finds it: next to the recipe first, then in the
    working directory. One that exists nowhere is left for ``load`` to report.
    """
    specs = list(cfg.plugins)
    fixed = []
    for spec in specs:
        spec = str(spec)
        if is_file_spec(spec) and not Path(spec).is_absolute():
            bases = ([Path(recipe_dir)] if recipe_dir else []) + [Path.cwd()]
            hit = next((b / spec for b in bases if (b / spec).is_file()), None)
            spec = str(hit.resolve()) if hit else spec
        fixed.append(spec)
    if fixed == specs:
        return cfg
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.plugins = fixed
    return cfg


def _load_module(name: str):
    registry.populate()  # built-ins first, so a clash names the plugin as the newcomer
    try:
        with registry.origin(f"module {name}"):
            return importlib.import_module(name)
    except GankitError:
        raise
    except ModuleNotFoundError as e:
        if e.name and name.startswith(e.name):
            raise GankitError(
                f"plugins: cannot import plugin module '{name}'. Make it importable (install it, "
                f"or run from the folder that holds it, or add that folder to PYTHONPATH), "
                f"or name the file by path, e.g. plugins: [./{name.replace('.', '/')}.py]."
            ) from None
        raise import_failed(f"plugin module '{name}'", e) from None
    except Exception as e:  # the plugin's own code failed while importing
        raise import_failed(f"plugin module '{name}'", e) from None


def _load_file(spec: str, base_dir) -> object:
    registry.populate()
    candidates = [Path(spec)] if Path(spec).is_absolute() else (
        [Path(base_dir) / spec] if base_dir else []) + [Path.cwd() / spec]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise GankitError(
            f"plugins: plugin file '{spec}' not found (looked at: "
            f"{', '.join(str(p) for p in candidates)}). Give a path relative to the recipe or an absolute path."
        )
    path = path.resolve()
    mod_name = f"gankit_plugin_{path.stem}_{abs(hash(str(path))) % 10**8}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    # the loader named: a file of any name loads (a Hub download's files are links to blobs named by hash)
    loader = importlib.machinery.SourceFileLoader(mod_name, str(path))
    module_spec = importlib.util.spec_from_file_location(mod_name, path, loader=loader)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    try:
        with registry.origin(f"file {path}"):
            module_spec.loader.exec_module(module)
    except GankitError:
        del sys.modules[mod_name]
        raise
    except Exception as e:  # the plugin's own code failed while importing (syntax error, missing import, ...)
        del sys.modules[mod_name]
        raise import_failed(f"plugin file {path}", e) from None
    return module


def import_failed(what: str, e: Exception) -> GankitError:
    """A plugin that raised while being imported: where (file and line) and what, as one paragraph."""
    where = ""
    if isinstance(e, SyntaxError) and e.filename:
        where = f" at {e.filename}, line {e.lineno}"
    else:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith("<frozen")]
        if frames:
            where = f" at {frames[-1].filename}, line {frames[-1].lineno}"
    message = e.msg if isinstance(e, SyntaxError) else str(e)
    return GankitError(f"plugins: importing {what} failed{where}: {type(e).__name__}: {' '.join(message.split())}. "
                       f"Fix the plugin, or remove it from the recipe's plugins: list.")


def load_installed() -> None:
    """Import every installed package that declares a ``gankit.plugins`` entry point (once).

    Called by the registries on first use, not by ``import gankit``. The entry point names a
    module (importing it registers its components) or a function (called with no arguments).
    A package that fails to import is reported in a warning naming the package and the
    error, and skipped, so runs that do not use it still work. A name clash with another
    source is an error (see ``Registry.register``).
    """
    global _loaded_installed
    if _loaded_installed:
        return
    _loaded_installed = True
    seen = set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        info = InstalledPlugin(ep.name, ep.value, dist.name if dist else None, dist.version if dist else None)
        if (info.package, ep.value) in seen:  # the same distribution found twice on sys.path
            continue
        seen.add((info.package, ep.value))
        installed.append(info)
        try:
            with registry.origin(info.origin):
                obj = ep.load()
                if callable(obj) and not isinstance(obj, type):
                    obj()
        except GankitError:
            raise
        except Exception as e:  # a broken plugin must not break unrelated runs
            info.error = f"{type(e).__name__}: {e}"
            who = f"package '{info.package}' {info.version}" if info.package else f"'{ep.value}'"
            warnings.warn(
                f"gankit plugin '{ep.name}' from {who} failed to load and is skipped "
                f"({info.error}). Runs that use its components will report them as unknown; "
                f"fix or uninstall the package (pip uninstall {info.package or ep.value}).",
                RuntimeWarning,
                stacklevel=2,
            )


def imported_code(specs) -> list[str]:
    """What a run imports besides gankit, one line each: the recipe's plugin files and modules (as
    loaded by ``load``), then every installed plugin package (``load_installed``: every run loads them)."""
    lines = []
    for spec in map(str, specs or []):
        module = _loaded_explicit.get(spec)
        where = getattr(module, "__file__", None)
        lines.append(f"file {where or spec} (recipe plugins:)" if is_file_spec(spec) else
                     f"module {spec} ({where or 'not loaded yet'}) (recipe plugins:)")
    for p in installed:
        state = f"failed: {p.error}" if p.error else "loaded"
        lines.append(f"package {p.package or '?'} {p.version or ''} entry point {p.name} = {p.value} "
                     f"(installed, {state})".replace("  ", " "))
    return lines


def populate() -> None:
    """What the first registry read does: import the built-in component modules, then load_installed()."""
    for mod in BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a room that does not exist yet
            if e.name != mod:
                raise
    load_installed()


registry.on_first_read(populate)
