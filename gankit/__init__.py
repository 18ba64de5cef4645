"""gankit: pluggable GAN experiments from YAML recipes, trained on accelerate."""
from .errors import GankitError
from .registry import (AUGMENTS, DATASETS, DISCRIMINATORS, FEATURES, GENERATORS, LOSSES, METRICS,
                       PENALTIES, Registry)

__version__ = "0.1.0"


def load_recipe(path, overrides=()):
    """Load and validate a recipe file (with its ``base:`` chain) and ``key=value`` overrides."""
    from .recipe import load

    return load(path, list(overrides))


def train(recipe, out=None, *, resume=None, overwrite=False):
    """Train a loaded recipe; returns the last logged numbers and the run directory."""
    from .training.run import train as _train

    return _train(recipe, out, resume=resume, overwrite=overwrite)


__all__ = ["GankitError", "Registry", "GENERATORS", "DISCRIMINATORS", "LOSSES", "PENALTIES", "AUGMENTS",
           "DATASETS", "METRICS", "FEATURES", "load_recipe", "train", "__version__"]
