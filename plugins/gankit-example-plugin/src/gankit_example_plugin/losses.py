"""A loss: each side's target softened by label smoothing."""
import torch
import torch.nn.functional as F

from gankit import LOSSES
from gankit.losses import AdversarialLoss


@LOSSES.register("example_smoothed")
def example_smoothed(real_label: float = 0.9) -> AdversarialLoss:
    """Non-saturating BCE with one-sided label smoothing (real target real_label)."""

    def bce(logits, target):
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    return AdversarialLoss(d=lambda real, fake: bce(real, real_label) + bce(fake, 0.0),
                           g=lambda fake, real=None: bce(fake, 1.0))
