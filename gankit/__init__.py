"""gankit: pluggable GAN experiments from YAML recipes, trained on accelerate."""
from gankit.errors import GankitError
from gankit.config.registry import (AUGMENTS, DATASETS, DISCRIMINATORS, FEATURES, GENERATORS, LOSSES, METRICS,
                       PENALTIES, Registry)

__version__ = "0.1.0"


def load_recipe(path, overrides=()):
    """Load and validate a recipe file (with its ``base:`` chain) and ``key=value`` overrides."""
    from gankit.config.recipe import load

    return load(path, list(overrides))


def train(recipe, out=None, *, resume=None, overwrite=False):
    """Train a loaded recipe; returns the last logged numbers and the run directory."""
    from gankit.training.run import train as _train

    return _train(recipe, out, resume=resume, overwrite=overwrite)


__all__ = ["GankitError", "Registry", "GENERATORS", "DISCRIMINATORS", "LOSSES", "PENALTIES", "AUGMENTS",
           "DATASETS", "METRICS", "FEATURES", "load_recipe", "train", "__version__"]


def load_generator(run_dir_or_checkpoint, device="cpu"):
    """The trained generator of a run (latest checkpoint) or of one checkpoint folder, in eval mode."""
    from gankit.runs.inference import load_generator as _load

    return _load(run_dir_or_checkpoint, device)


def sample(generator, n, seed=0, labels=None):
    """``n`` images in [-1, 1] from a generator, with latents seeded by ``seed``."""
    from gankit.runs.inference import sample as _sample

    return _sample(generator, n, seed, labels)


__all__ += ["load_generator", "sample"]
