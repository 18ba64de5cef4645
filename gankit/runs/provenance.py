"""Where a generator's components come from: recorded when it is exported, checked when it is loaded.

A built-in component needs nothing. A plugin component is recorded with what brings it back on
another machine: the installed package that declares it (entry point) and its version; the module
a recipe named (and the package holding it, with its version, where ``importlib.metadata`` knows
it); or, for a single-file plugin, the file's name and sha256 (an export does not carry code).
"""
import hashlib
import warnings
from importlib import metadata
from pathlib import Path

from gankit.config import plugin_trust
from gankit.config import plugins as plugin_loader
from gankit.config.registry import GENERATORS
from gankit.errors import GankitError, raise_if


def component_names(node: dict) -> list[str]:
    """The generators a recipe node uses: its own name and any argument naming another one (the
    ``body`` of a conditional wrapper)."""
    names = [str(node["name"])]
    names += [v for k, v in node.items() if k != "name" and isinstance(v, str) and v in GENERATORS]
    return list(dict.fromkeys(names))


def record(node: dict) -> list[dict]:
    """One entry per plugin component of a generator node (built-ins are left out)."""
    out = []
    for name in component_names(node):
        entry = GENERATORS.entry(name, "generator.name")
        if entry.origin == "built-in":
            continue
        kind, _, rest = entry.origin.partition(" ")
        rec = {"component": name, "origin": entry.origin, "module": getattr(entry.obj, "__module__", None)}
        if kind == "plugin" and len(rest.split()) == 2:  # "plugin <package> <version>": an entry point
            rec["package"], rec["version"] = rest.split()
        elif kind == "module":
            rec["module"] = rest
            rec.update(_distribution_of(rest))
        elif kind == "file":
            path = Path(rest)
            rec.pop("module")  # a generated name (gankit_plugin_<stem>_<hash>) that no other machine has
            rec["file"] = path.name
            rec["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        out.append(rec)
    return out


def _distribution_of(module: str) -> dict:
    """{"package", "version"} of the installed distribution holding ``module``, when there is one."""
    top = module.split(".")[0]
    try:
        dists = metadata.packages_distributions().get(top) or []
        return {"package": dists[0], "version": metadata.version(dists[0])} if dists else {}
    except (metadata.PackageNotFoundError, OSError, ValueError):
        return {}


def require(records: list[dict], where: str, extra_plugins=(), *, folder=None, trust: bool = False) -> None:
    """Make every recorded component available; one GankitError naming what is missing and what to do.

    ``extra_plugins``: what the user names (``plugins=``, ``--plugin``), loaded first, as given. What
    config.json names is loaded only as ``plugin_trust.vet`` allows for the model folder ``folder``: with the
    user's opt-in (``trust``), a plugin file inside the folder or a module of an installed package."""
    plugin_loader.load(list(extra_plugins or ()))
    source = plugin_trust.Source(Path(folder), plugin_trust.MODEL_FOLDER, trust) if folder is not None else None
    missing = []
    for rec in records:
        name, spec = rec["component"], rec.get("file") or rec.get("module")
        absent = rec.get("file") and not (Path(folder) / str(rec["file"])).is_file()  # said by how_to_get
        if name not in GENERATORS and spec and source is not None and not absent:
            found, why = plugin_trust.judge(str(spec), source)
            if why:
                missing.append(f"'{name}' comes from the plugin '{spec}' that config.json names: {why}")
                continue
            try:
                plugin_loader.load([found])
            except GankitError:
                if plugin_loader.is_file_spec(found):
                    raise  # the folder's own file, trusted, failed: its error says where
        if name in GENERATORS:
            _warn_if_other_version(rec, where)
            _warn_if_other_file(rec, where)
        else:
            missing.append(how_to_get(rec))
    raise_if(missing, f"{where}: the generator needs plugin components that are not available here:")


def how_to_get(rec: dict) -> str:
    """What to install or load for a recorded component, as one sentence."""
    name = rec["component"]
    if rec.get("file"):
        return (f"'{name}' comes from the plugin file {rec['file']}. Load that file first: "
                f"gankit.load_generator(..., plugins=['path/to/{rec['file']}']), or "
                f"gankit sample ... --plugin path/to/{rec['file']}.")
    if rec.get("package"):
        pin = f"{rec['package']}=={rec['version']}" if rec.get("version") else rec["package"]
        return (f"'{name}' comes from the package {rec['package']} {rec.get('version') or ''}".rstrip()
                + f", which is not installed here. Install it: pip install {pin}")
    return (f"'{name}' comes from the plugin module '{rec.get('module')}', which cannot be imported here. Install "
            f"the package that provides it, or put the folder that holds it on PYTHONPATH.")


def _warn_if_other_version(rec: dict, where: str) -> None:
    pkg, want = rec.get("package"), rec.get("version")
    if not pkg or not want:
        return
    try:
        have = metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return
    if have != want:
        warnings.warn(f"{where}: '{rec['component']}' was exported with {pkg} {want}; {have} is installed. If the "
                      f"samples look wrong, install the exported version: pip install {pkg}=={want}", stacklevel=3)


def _warn_if_other_file(rec: dict, where: str) -> None:
    if not rec.get("file") or not rec.get("sha256"):
        return
    entry = GENERATORS.entry(rec["component"])
    kind, _, path = entry.origin.partition(" ")
    if kind == "file" and Path(path).is_file() and hashlib.sha256(Path(path).read_bytes()).hexdigest() != rec["sha256"]:
        warnings.warn(f"{where}: '{rec['component']}' comes from {path}, which differs from the {rec['file']} it was "
                      f"exported with (sha256 {rec['sha256'][:12]}…). If the weights do not load, use that file.",
                      stacklevel=3)
