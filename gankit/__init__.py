"""gankit: pluggable GAN experiments from YAML recipes, trained on accelerate.

``import gankit`` is light: the registries and the error type. The registries fill themselves on
their first read (built-in components, then installed plugin packages; ``gankit.config.plugins``
arranges that). The functions below come from their modules on first use:

- ``load_recipe(path, overrides=())``: load and check a recipe file (``gankit.config.recipe.load``); the
  config remembers the file's folder (``recipe.folder_of``), where relative plugin files are found;
- ``train(recipe, out=None, *, resume=None, overwrite=False, recipe_dir=None, trust_plugins=False)``: train
  it, validating it once, then write its report (``gankit.commands.train``; ``gankit.config.validate``);
  ``recipe_dir``: another folder for the recipe's relative plugin files;
- ``load_generator(source, device="cpu", *, trust_plugins=False)``: a trained generator (``gankit.runs.inference``);
- ``sample(generator, n, seed=0, labels=None, truncation=1.0)``: images in [-1, 1] from it (``gankit.runs.inference``);
- ``export_generator(run_dir_or_checkpoint, out)``: a portable model folder (``gankit.runs.export``);
- ``push_to_hub(folder, repo_id)``: that folder on the Hugging Face Hub (``gankit.runs.hub``).

``load_generator`` also takes an exported folder or a Hub repo id (``"user/repo"``). A folder or run
runs no plugin code it names unless ``trust_plugins=True`` (``gankit.config.plugin_trust``).
"""
import importlib

from gankit.config import plugins as _plugins  # noqa: F401 - makes the first registry read find the components
from gankit.config.registry import (AUGMENT_POLICIES, AUGMENTS, DATASETS, DISCRIMINATORS, FEATURES, GENERATORS,
                                    LOSSES, METRICS, NORMS, OPTIMIZERS, PENALTIES, SCHEDULES, SIDE_JOBS, Registry)
from gankit.errors import GankitError

__version__ = "0.1.0"

# Public functions and the modules that define them, imported on first use so that
# ``import gankit`` does not import torch models, accelerate or the trainer.
_LAZY = {
    "load_recipe": ("gankit.config.recipe", "load"),
    "train": ("gankit.commands.train", "train"),
    "load_generator": ("gankit.runs.inference", "load_generator"),
    "sample": ("gankit.runs.inference", "sample"),
    "export_generator": ("gankit.runs.export", "export_generator"),
    "push_to_hub": ("gankit.runs.hub", "push_to_hub"),
}

__all__ = ["GankitError", "Registry", "GENERATORS", "DISCRIMINATORS", "LOSSES", "PENALTIES", "AUGMENTS",
           "AUGMENT_POLICIES", "DATASETS", "METRICS", "FEATURES", "OPTIMIZERS", "SCHEDULES", "NORMS", "SIDE_JOBS", *_LAZY,
           "__version__"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'gankit' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
