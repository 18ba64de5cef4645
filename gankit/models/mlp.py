"""Fully connected G and D in the spirit of the original GAN (Goodfellow et al. 2014): any size, any channels."""
import math

from typing import Optional

import torch
from torch import nn

from gankit.models.base import FeatureDiscriminator
from gankit.config.registry import DISCRIMINATORS, GENERATORS


@GENERATORS.register("mlp")
class MLPGenerator(nn.Module):
    """z → hidden ReLU layers → C·H·W, tanh (fully connected; any image size and channel count)."""

    def __init__(self, img_shape: tuple = (1, 28, 28), z_dim: int = 100, hidden: tuple = (256, 512, 1024),
                 batch_norm: bool = True):
        super().__init__()
        self.z_dim, self.img_shape = z_dim, tuple(int(v) for v in img_shape)
        layers, prev = [], z_dim
        for h in hidden:
            layers += [nn.Linear(prev, h)] + ([nn.BatchNorm1d(h)] if batch_norm else []) + [nn.ReLU(True)]
            prev = h
        layers += [nn.Linear(prev, math.prod(self.img_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.img_shape)


@DISCRIMINATORS.register("mlp")
class MLPDiscriminator(FeatureDiscriminator):
    """Flattened image → hidden LeakyReLU 0.2 layers (with dropout) → one logit (any image size)."""

    def __init__(self, img_shape: tuple = (1, 28, 28), hidden: tuple = (1024, 512, 256), dropout: float = 0.3):
        super().__init__()
        layers, prev = [nn.Flatten()], math.prod(int(v) for v in img_shape)
        for h in hidden:
            layers += [nn.Linear(prev, h), nn.LeakyReLU(0.2, True)] + ([nn.Dropout(dropout)] if dropout else [])
            prev = h
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(prev, 1)

