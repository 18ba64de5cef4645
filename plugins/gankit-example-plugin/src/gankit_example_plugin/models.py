"""Fully connected generator and discriminator for small images."""
import math

import torch
from torch import nn

from gankit import DISCRIMINATORS, GENERATORS


@GENERATORS.register("example_mlp")
class ExampleMLPGenerator(nn.Module):
    """MLP generator: z → hidden → hidden → pixels, tanh output."""

    def __init__(self, img_shape: tuple = (1, 16, 16), z_dim: int = 16, hidden: int = 64):
        super().__init__()
        self.z_dim = z_dim
        self.img_shape = tuple(img_shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, math.prod(self.img_shape)), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.img_shape)


@DISCRIMINATORS.register("example_mlp")
class ExampleMLPDiscriminator(nn.Module):
    """MLP discriminator: pixels → hidden → hidden → one logit."""

    def __init__(self, img_shape: tuple = (1, 16, 16), hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(img_shape), hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)
