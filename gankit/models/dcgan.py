"""The DCGAN of Radford et al. (2016): all-convolutional, strided (transposed) convolutions, any channel count.

G: z (as a 1×1 map) → ConvT to start×start → [ConvT 4/2 → BN → ReLU]… → ConvT 4/2 → tanh.
D: [Conv 4/2 → norm → LeakyReLU 0.2]… (no norm on the first) → Linear (≡ conv start×start) → one logit.
Sides 32 and 64 are the paper's layout; any side 4·2^k or 7·2^k (≥ 16, e.g. 28) works.
"""
from typing import Optional

import torch
from torch import nn

from gankit.models.base import FeatureDiscriminator
from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.models.layers import apply_spectral_norm, conv_plan, init_dcgan, norm2d


@GENERATORS.register("dcgan")
class DCGANGenerator(nn.Module):
    """Radford et al. DCGAN generator: transposed convs with BatchNorm and ReLU, tanh out (32², 64², …)."""

    def __init__(self, img_shape: tuple = (3, 64, 64), z_dim: int = 100, ngf: int = 64):
        super().__init__()
        c, start, n_up = conv_plan(img_shape, "generator", "dcgan")
        self.z_dim, self.img_shape = z_dim, tuple(img_shape)
        ch = ngf * 2 ** (n_up - 1)
        layers = [nn.ConvTranspose2d(z_dim, ch, start, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan(self)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.net(z[:, :, None, None])


def dcgan_trunk(c: int, n_down: int, ndf: int, norm: str, key: str) -> tuple[nn.Sequential, int]:
    """The DCGAN discriminator body: n_down stride-2 convs, LeakyReLU 0.2; returns (body, out channels)."""
    layers, ch = [nn.Conv2d(c, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)], ndf
    for _ in range(n_down - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"),
                   norm2d(norm, ch * 2, key), nn.LeakyReLU(0.2, True)]
        ch *= 2
    return nn.Sequential(*layers), ch


@DISCRIMINATORS.register("dcgan")
class DCGANDiscriminator(FeatureDiscriminator):
    """Radford et al. DCGAN discriminator: strided convs, LeakyReLU 0.2, optional norm/spectral norm; logits."""

    def __init__(self, img_shape: tuple = (3, 64, 64), ndf: int = 64, norm: str = "batch",
                 spectral_norm: bool = False):
        super().__init__()
        c, start, n_down = conv_plan(img_shape, "discriminator", "dcgan")
        body, ch = dcgan_trunk(c, n_down, ndf, norm, "discriminator")
        self.trunk = nn.Sequential(body, nn.Flatten())
        self.head = nn.Linear(ch * start * start, 1)  # = the paper's start×start conv to one logit
        init_dcgan(self)
        nn.init.normal_(self.head.weight, 0.0, 0.02)
        nn.init.zeros_(self.head.bias)
        if spectral_norm:  # after init: the parametrisation wraps the initialised weights
            apply_spectral_norm(self)

