"""What plugin code a run directory or a model folder may run: one rule, ``vet``.

A model folder (config.json) and a run directory (recipe.yaml) name plugins; what they name is data
from whoever made them, so it is loaded only as ``vet`` allows (docs/sharing.md, "What a folder may
run"). Plugins the user names (``plugins=``, ``--plugin``, a recipe the user trains) are the user's
choice: ``gankit.config.plugins.load`` takes them as given.
"""
import importlib.util
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from omegaconf import DictConfig, open_dict

from gankit.config import plugins
from gankit.errors import GankitError

OPT_IN = "trust_plugins=True (gankit.load_generator, gankit.train) or --trust-plugins (the command line)"
MODEL_FOLDER, RUN = "model folder", "run directory"


@dataclass(frozen=True)
class Source:
    """Where a list of plugins was read: a run directory's recipe.yaml or a model folder's config.json,
    and whether the user opted in to running the code it names (``trust``)."""

    home: Path
    kind: str  # MODEL_FOLDER or RUN
    trust: bool = False


def vet(specs, source: Source) -> list[str]:
    """The plugins ``source`` names that may be loaded, files as absolute paths; one GankitError naming
    every other one and the opt-in. The rule (docs/sharing.md, "What a folder may run"):

    - a file inside the run or folder is code that came with it: loaded only with the opt-in;
    - a relative path is found in the run or folder only, never in the working directory;
    - a run may name a file outside itself by its absolute path (what ``gankit train`` stores for the
      user's own plugin file): loaded; a model folder never loads a file outside itself;
    - a module a run names is imported when it is found outside the run and the working directory
      and is not Python's own (the user's code, as an absolute plugin path is); from the working
      directory or the standard library only with the opt-in;
    - a module a model folder names only when an installed distribution (``importlib.metadata``)
      provides it, and only with the opt-in;
    - a module found inside the run or folder never.
    Plugins the user names (``plugins=``, ``--plugin``) are the user's choice and are not vetted."""
    home = Path(source.home).absolute().resolve()
    allowed, refused = [], []
    for spec in map(str, specs or []):
        found, why = judge(spec, source, home)
        if why:
            refused.append(f"'{spec}': {why}")
        else:
            allowed.append(found)
    if refused:
        raise GankitError.collect(refused, f"{home}: this {source.kind} names plugin code that gankit does not run "
                                           f"unless you ask (docs/sharing.md):")
    return allowed


def judge(spec: str, source: Source, home: Path | None = None) -> tuple[str, str | None]:
    """(the entry as ``load`` should take it, None) when ``vet``'s rule lets it load, else (it, why not)."""
    if spec in plugins._loaded_explicit:  # the user loaded it already (plugins=, --plugin)
        return spec, None
    home = home or Path(source.home).absolute().resolve()
    return (_vet_file if plugins.is_file_spec(spec) else _vet_module)(spec, home, source)


def refusal_help(source: Source, opt_in: bool = True) -> str:
    """What to do about a refused plugin."""
    own = ("a plugin of your own is loaded when you name it: plugins=['path/to/file.py'] (gankit.load_generator) "
           "or --plugin path/to/file.py (gankit sample).")
    if not opt_in or source.trust:
        return own[0].upper() + own[1:]
    return f"To run the code this {source.kind} carries, once you have read it, pass {OPT_IN}; or {own}"


def _vet_file(spec: str, home: Path, source: Source) -> tuple[str, str | None]:
    given = Path(spec)
    # ".." is taken lexically (a Hub download's files are links into its cache, so links are not followed)
    path = Path(os.path.normpath(given if given.is_absolute() else home / given))
    if path.is_relative_to(home):
        if not path.is_file():
            return spec, f"no such file in the {source.kind} ({path}). {refusal_help(source)}"
        if not source.trust:
            return spec, f"a plugin file inside the {source.kind} ({path}). {refusal_help(source)}"
        return str(path), None
    if source.kind == RUN and given.is_absolute():
        return str(path), None  # the user's own plugin file, as `gankit train` resolved it
    where = "by an absolute path outside it" if given.is_absolute() else "by a relative path leading outside it"
    return spec, (f"a plugin file named {where} ({path}); gankit never loads a {source.kind}'s plugin from outside "
                  f"it or from the working directory. {refusal_help(source, opt_in=False)}")


def _vet_module(spec: str, home: Path, source: Source) -> tuple[str, str | None]:
    if not all(part.isidentifier() for part in spec.split(".")):
        return spec, f"not a module name. {refusal_help(source)}"
    top = spec.split(".")[0]
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        found = None
    if found is None:
        return spec, None  # nothing to import: loading it says the module is missing
    root = _search_root(found)  # the sys.path entry it is found on
    inside = root is not None and root.is_relative_to(home)
    in_cwd = root == Path.cwd().resolve()
    if source.kind == RUN:  # the user's own code outside the run, as a run's absolute plugin path is
        risky = in_cwd or root is None or top in sys.stdlib_module_names
        opt_in_allows, allowed_anyway = not inside, not inside and not risky
    else:
        installed = bool(metadata.packages_distributions().get(top)) and not inside and not in_cwd
        opt_in_allows, allowed_anyway = installed, False
    if allowed_anyway or (source.trust and opt_in_allows):
        return spec, None
    where = f"found in {root}" if root else "built in"
    if inside or in_cwd:
        what = f"a module found {'inside the ' + source.kind if inside else 'in the working directory'} ({where})"
    elif source.kind == RUN:
        what = f"a module of Python's standard library ({where})"
    elif opt_in_allows:
        what = f"a module of an installed package ({where})"
    else:
        what = (f"not a module of an installed package ({where}); of the modules a model folder names, gankit "
                f"imports only an installed package's ({OPT_IN})")
    return spec, f"{what}. {refusal_help(source, opt_in=opt_in_allows)}"


def _search_root(spec) -> Path | None:
    """The folder on ``sys.path`` where a top-level module or package was found (None: built in)."""
    if spec.origin not in (None, "built-in", "frozen"):
        where = Path(spec.origin).resolve()
        return where.parent.parent if spec.submodule_search_locations else where.parent  # a package: pkg/__init__.py
    locations = list(spec.submodule_search_locations or [])  # a namespace package
    return Path(locations[0]).resolve().parent if locations else None


def vetted(cfg: DictConfig, source: Source) -> DictConfig:
    """``cfg`` with its plugins: list vetted (``vet``): files absolute, or a GankitError."""
    fixed = vet(list(cfg.plugins), source)
    if fixed == list(cfg.plugins):
        return cfg
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.plugins = fixed
    return cfg
