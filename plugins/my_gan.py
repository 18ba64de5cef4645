"""A single-file gankit plugin: a small MLP generator and a softplus loss.

Use it by naming the file in a recipe (the path is relative to the recipe):

    plugins: [./my_gan.py]
    generator: {name: my_mlp, hidden: 128}
    loss: {name: my_softplus}

Components are plain PyTorch: a generator is an ``nn.Module`` with a ``z_dim`` attribute
whose ``forward(z)`` returns images in [-1, 1]; a loss returns an ``AdversarialLoss``
pair of functions of D's logits. ``img_shape`` is filled in from the data.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit import GENERATORS, LOSSES
from gankit.losses import AdversarialLoss


@GENERATORS.register("my_mlp")
class MyMLPGenerator(nn.Module):
    """z → Linear → ReLU → Linear → tanh, reshaped to the data's image shape."""

    def __init__(self, img_shape: tuple = (1, 28, 28), z_dim: int = 32, hidden: int = 128):
        super().__init__()
        self.z_dim = z_dim
        self.img_shape = tuple(img_shape)
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, math.prod(self.img_shape)), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.img_shape)


@LOSSES.register("my_softplus")
def my_softplus(margin: float = 0.0) -> AdversarialLoss:
    """Non-saturating loss written with softplus, with an optional logit margin."""
    return AdversarialLoss(
        d=lambda real, fake: F.softplus(margin - real).mean() + F.softplus(fake + margin).mean(),
        g=lambda fake, real=None: F.softplus(-fake).mean(),
    )
