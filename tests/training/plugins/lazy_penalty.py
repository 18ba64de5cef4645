"""Test plugin: a penalty that records the steps it runs on and adds a constant (no gradient)."""
import torch

from gankit import PENALTIES
from gankit.losses.penalties import Penalty

CALLS: list[int] = []


@PENALTIES.register("constant_probe")
class ConstantProbe(Penalty):
    """Adds ``value`` to D's loss (its gradient is zero), recording each step it is asked for inputs."""

    def __init__(self, value: float = 0.25):
        self.value = value

    def inputs(self, real, fake, step):
        CALLS.append(step)
        return real[:2].detach().requires_grad_(True)

    def __call__(self, x, logits, step):
        return logits.sum() * 0.0 + self.value
