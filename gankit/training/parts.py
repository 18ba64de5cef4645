"""Building a validated recipe's components from the registries (no accelerate here).

The recipe comes in checked (``gankit.config.validate.ValidRecipe``, its plugins imported):
nothing here checks it again.
"""
from dataclasses import dataclass, field

from torch import nn

from gankit.config.registry import AUGMENTS, DISCRIMINATORS, GENERATORS, LOSSES, PENALTIES
from gankit.config.validate import ValidRecipe
from gankit.data.base import ImageData
from gankit.data.build import build_data
from gankit.errors import GankitError
from gankit.losses import AdversarialLoss
from gankit.losses.penalties import Penalty


@dataclass(frozen=True)
class PenaltyPart:
    """One built penalty of a run and what the recipe says of it."""

    module: Penalty  # the built penalty (a ``PENALTIES`` entry)
    index: int  # its place in the recipe's ``penalties`` list
    name: str  # its recipe name
    interval: int = 1  # run on steps divisible by it (and scaled by it) by the phase that runs it

    @property
    def key(self) -> str:
        """Its recipe key, ``penalties[i]`` (schedules and checkpoints name it so)."""
        return f"penalties[{self.index}]"

    @property
    def term(self) -> str:
        """The name of its term in the phase that runs it (and in the logs)."""
        return f"penalty{self.index}:{self.name}"


@dataclass
class Parts:
    data: ImageData
    G: nn.Module
    D: nn.Module
    loss: AdversarialLoss
    penalties: list[PenaltyPart] = field(default_factory=list)
    augment: object = None


def build_parts(recipe: ValidRecipe, data: ImageData | None = None) -> Parts:
    """Data, G, D, loss, penalties and augment of a validated recipe."""
    cfg = recipe.cfg
    data = data if data is not None else build_data(recipe)
    ctx = {"img_shape": data.img_shape, "num_classes": data.num_classes}
    G = GENERATORS.build(cfg.generator, "generator", ctx)
    D = DISCRIMINATORS.build(cfg.discriminator, "discriminator", ctx)
    if not hasattr(G, "z_dim"):
        raise GankitError(f"generator.name: generator '{cfg.generator.name}' has no z_dim attribute; set self.z_dim in its __init__.")
    loss = LOSSES.build(cfg.loss, "loss", ctx)
    pens = [PenaltyPart(PENALTIES.build(p.node, p.key, ctx), p.index, p.name, p.interval) for p in recipe.penalties]
    aug = AUGMENTS.build(cfg.augment, "augment", ctx) if cfg.augment is not None else None
    return Parts(data, G, D, loss, pens, aug)


def run_length(num_images: int, t) -> tuple[int, int]:
    """(steps per epoch, steps in all) of a run: a step is d_steps global batches (grad_accum splits
    them, it does not add any), and trainer.max_steps, when set, replaces trainer.epochs."""
    batches = num_images // t.batch_size  # the last incomplete batch is dropped
    return max(1, batches // t.d_steps), t.max_steps or max(1, t.epochs * batches // t.d_steps)
