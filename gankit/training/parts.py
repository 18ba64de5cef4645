"""Building a recipe's components from the registries (no accelerate here)."""
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig
from torch import nn

from gankit.config import plugins, validate
from gankit.config.registry import AUGMENTS, DATASETS, DISCRIMINATORS, GENERATORS, LOSSES, PENALTIES
from gankit.data.base import ImageData
from gankit.data.holdout import hold_out, split_holdout
from gankit.errors import GankitError, raise_if
from gankit.losses import AdversarialLoss
from gankit.losses.penalties import split_interval


@dataclass
class Parts:
    data: ImageData
    G: nn.Module
    D: nn.Module
    loss: AdversarialLoss
    penalties: list = field(default_factory=list)
    augment: object = None
    intervals: list = field(default_factory=list)  # each penalty's `interval` (run by the D phase)


def load_plugins(cfg: DictConfig, recipe_dir: str | Path | None = None) -> None:
    plugins.load(list(cfg.plugins), base_dir=recipe_dir)


def check_components(cfg: DictConfig) -> list[str]:
    """Every unknown component or bad argument in the recipe, without building anything
    (``gankit.config.validate.component_problems``)."""
    return validate.component_problems(cfg)


def build_data(cfg: DictConfig) -> ImageData:
    """The recipe's dataset, without the ``data.holdout`` images it keeps out of training (``data.heldout``)."""
    node, holdout = split_holdout(validate.plain(cfg.data), "data")
    data = DATASETS.build(node, "data")
    if not isinstance(data, ImageData):
        raise GankitError(f"data.name: dataset '{cfg.data.name}' returned {type(data).__name__}, not gankit.data.ImageData.")
    return hold_out(data, holdout, "data", cfg.data.name)


def build_parts(cfg: DictConfig, data: ImageData | None = None) -> Parts:
    """Data, G, D, loss, penalties and augment of a recipe; first refuses every problem that
    ``gankit.config.validate.problems`` finds (the path ``gankit check`` takes too)."""
    problems = validate.problems(cfg)
    raise_if(problems, validate.header(problems))
    data = data if data is not None else build_data(cfg)
    ctx = {"img_shape": data.img_shape, "num_classes": data.num_classes}
    G = GENERATORS.build(cfg.generator, "generator", ctx)
    D = DISCRIMINATORS.build(cfg.discriminator, "discriminator", ctx)
    if not hasattr(G, "z_dim"):
        raise GankitError(f"generator.name: generator '{cfg.generator.name}' has no z_dim attribute; set self.z_dim in its __init__.")
    loss = LOSSES.build(cfg.loss, "loss", ctx)
    nodes = [split_interval(validate.plain(p), f"penalties[{i}]") for i, p in enumerate(cfg.penalties)]
    pens = [PENALTIES.build(node, f"penalties[{i}]", ctx) for i, (node, _) in enumerate(nodes)]
    aug = AUGMENTS.build(cfg.augment, "augment", ctx) if cfg.augment is not None else None
    return Parts(data, G, D, loss, pens, aug, [interval for _, interval in nodes])


def run_length(num_images: int, t) -> tuple[int, int]:
    """(steps per epoch, steps in all) of a run: a step is d_steps global batches (grad_accum splits
    them, it does not add any), and trainer.max_steps, when set, replaces trainer.epochs."""
    batches = num_images // t.batch_size  # the last incomplete batch is dropped
    return max(1, batches // t.d_steps), t.max_steps or max(1, t.epochs * batches // t.d_steps)

