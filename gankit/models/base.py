"""The model contract: ``G(z, y=None)`` → images in [-1, 1], ``D(x, y=None)`` → logits (N,) or a Verdict.

Every model takes labels ``y``; an unconditional one ignores them (and gets ``None``). A model
that uses labels sets ``conditional = True`` and ``num_classes``. A discriminator with a class
head returns ``Verdict(logits, classes)`` and sets ``aux_weight`` (the weight of its class loss).
"""
from typing import NamedTuple, Optional

import torch
from torch import nn

Tensor = torch.Tensor


class Verdict(NamedTuple):
    """What D says about a batch: one real/fake logit per image, and class logits when D has a class head."""

    logits: Tensor
    classes: Optional[Tensor] = None


def as_verdict(out) -> Verdict:
    """Any discriminator's output as a Verdict (a plain tensor is the logits)."""
    return out if isinstance(out, Verdict) else Verdict(out)


def is_conditional(model: nn.Module) -> bool:
    return bool(getattr(model, "conditional", False))


def class_loss_weight(D: nn.Module) -> Optional[float]:
    """The weight of the class loss of a discriminator with a class head (``aux_weight``), else None."""
    weight = getattr(D, "aux_weight", None)
    return None if weight is None else float(weight)


def uses_labels(G: nn.Module, D: nn.Module) -> bool:
    """Whether a run must draw labels: a conditional G or D, or a D with a class head."""
    return is_conditional(G) or is_conditional(D) or class_loss_weight(D) is not None


class FeatureDiscriminator(nn.Module):
    """A discriminator made of ``trunk`` (features (N, F)) and ``head`` Linear(F, 1); the conditional
    wrappers (``projection``, ``acgan``) reuse any such D as their body."""

    trunk: nn.Module
    head: nn.Linear

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.head(self.features(x)).squeeze(1)
