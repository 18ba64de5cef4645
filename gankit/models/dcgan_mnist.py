"""The reference MNIST DCGAN (the classic tutorial architecture), for 1×28×28 images."""
from typing import Optional

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.models.base import FeatureDiscriminator
from gankit.config.registry import DISCRIMINATORS, GENERATORS


def _require_28(img_shape, who: str) -> tuple[int, int, int]:
    c, h, w = img_shape
    if (h, w) != (28, 28):
        raise GankitError(
            f"{who}: dcgan_mnist is built for 28×28 images but the data gives {c}×{h}×{w}. "
            f"Use a generator/discriminator for that size (e.g. name: dcgan) or resize the data (data.image_size: 28)."
        )
    return c, h, w


@GENERATORS.register("dcgan_mnist")
class DCGANMnistGenerator(nn.Module):
    """z → FC 1024 → FC 7·7·128 → ConvT 64 → ConvT C, tanh (BatchNorm after each ReLU)."""

    def __init__(self, img_shape: tuple = (1, 28, 28), z_dim: int = 96):
        super().__init__()
        c, _, _ = _require_28(img_shape, "generator")
        self.z_dim = z_dim
        self.img_shape = tuple(img_shape)
        self.fc = nn.Sequential(
            nn.Linear(z_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
            nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),
            nn.ConvTranspose2d(64, c, 4, stride=2, padding=1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.conv(self.fc(z).view(-1, 128, 7, 7))


@DISCRIMINATORS.register("dcgan_mnist")
class DCGANMnistDiscriminator(FeatureDiscriminator):
    """Conv 32 k5 → pool → Conv 64 k5 → pool → FC 1024 → FC 1 (LeakyReLU 0.01, logits out)."""

    def __init__(self, img_shape: tuple = (1, 28, 28), slope: float = 0.01):
        super().__init__()
        c, _, _ = _require_28(img_shape, "discriminator")
        self.trunk = nn.Sequential(
            nn.Conv2d(c, 32, 5), nn.LeakyReLU(slope), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.LeakyReLU(slope), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * 4 * 64, 1024), nn.LeakyReLU(slope),
        )
        self.head = nn.Linear(1024, 1)

