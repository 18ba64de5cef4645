"""The folders and files a recipe names, made absolute once, so that a run's stored recipe means the same
data and code from any working folder and after the run directory is moved.

A recipe names paths in two places:

* ``plugins``: plugin files (``./my_loss.py``), found next to the recipe first, then in the working
  folder (``gankit.config.plugins.absolute_plugins``);
* component arguments that are paths: those named ``root``, ``path``, ``file`` or ``dir``, or ending in
  ``_root``, ``_path``, ``_file`` or ``_dir``, of the components in ``data``, ``generator``,
  ``discriminator``, ``loss``, ``augment``, ``penalties`` and ``metrics`` (``data.root``; ``data.path``
  and ``data.cache_dir`` of ``hf_datasets``; a plugin metric's ``weights_path``). They are relative to
  the working folder, where the component opens them. One the recipe leaves out takes the component's
  default (mnist's ``root: data``), made absolute too; ``null`` stays ``null``.

Side jobs' arguments stay as written: a side job writes into the run directory (``trainer.run_dir``),
so its relative paths are inside the run, and move with it.

``absolute`` is applied to every validated recipe (``gankit.config.validate``), so the recipe a run stores
(``recipe.yaml``) holds absolute paths only. A run written before this stored its paths as they were
given; loading it resolves them against the working folder, as it always did.
"""
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from gankit.config.registry import (AUGMENTS, DATASETS, DISCRIMINATORS, GENERATORS, LOSSES, METRICS, PENALTIES,
                                    Registry)

# The recipe's component nodes (a list: one node per item) and the registry that names their arguments.
SECTIONS = {"data": DATASETS, "generator": GENERATORS, "discriminator": DISCRIMINATORS, "loss": LOSSES,
            "augment": AUGMENTS, "penalties": PENALTIES, "metrics": METRICS}
PATH_ARGUMENT = re.compile(r"(^|_)(root|path|file|dir)$")


def is_path_argument(name: str) -> bool:
    """Whether a component argument holds a path (by its name: ``root``, ``cache_dir``, ``weights_path``...)."""
    return bool(PATH_ARGUMENT.search(name))


def absolute(cfg: DictConfig) -> DictConfig:
    """The recipe with every path argument of its components absolute (``~`` expanded, relative ones
    against the working folder); ``cfg`` itself when there is nothing to change. The components'
    plugins must be loaded (their arguments are read from the registries)."""
    changes = {}
    for section, registry in SECTIONS.items():
        node = cfg.get(section)
        if node is None:
            continue
        if OmegaConf.is_list(node):
            for i, item in enumerate(node):
                changes |= {(section, i, k): v for k, v in _absolute_arguments(item, registry).items()}
        else:
            changes |= {(section, None, k): v for k, v in _absolute_arguments(node, registry).items()}
    if not changes:
        return cfg
    cfg = cfg.copy()
    with open_dict(cfg):
        for (section, i, key), value in changes.items():
            (cfg[section] if i is None else cfg[section][i])[key] = value
    return cfg


def _absolute_arguments(node, registry: Registry) -> dict[str, str]:
    """{argument: its absolute path} for each path argument of one component node that is not absolute yet."""
    if not hasattr(node, "get") or node.get("name") not in registry:
        return {}  # a string or an unknown name: validation reports it
    found = {}
    for name, param in registry.entry(node["name"]).parameters().items():
        if not is_path_argument(name):
            continue
        value = node.get(name) if name in node else param.default
        if isinstance(value, (str, Path)) and str(value) and "://" not in str(value):
            fixed = absolute_path(value)
            if fixed != value or name not in node:
                found[name] = fixed
    return found


def absolute_path(value: str | Path) -> str:
    """``value`` with ``~`` expanded and, when relative, made absolute against the working folder."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else path.resolve())

