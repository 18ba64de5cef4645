"""SNGAN ResNets (Miyato et al. 2018, CIFAR-10 layout): pre-activation residual blocks.

G: z → Linear to ch×4×4 → 3 up-blocks (BN, ReLU, nearest ×2, conv3) → BN, ReLU, conv3 → tanh (32×32).
D: optimized down-block → down-block → 2 blocks → ReLU → global sum pool → Linear, all spectrally normalised.
The D body is size-agnostic (global pooling).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models.base import FeatureDiscriminator
from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.models.layers import apply_spectral_norm, conv_plan, min_side


class UpBlock(nn.Module):
    """BN → ReLU → upsample ×2 → conv3 → BN → ReLU → conv3, plus upsample → conv1 shortcut."""

    def __init__(self, cin: int, cout: int, bn=nn.BatchNorm2d):
        super().__init__()
        self.bn1, self.bn2 = bn(cin), bn(cout)
        self.c1, self.c2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1)

    def forward(self, x, *cond):
        h = F.interpolate(F.relu(self.bn1(x, *cond)), scale_factor=2)
        h = self.c2(F.relu(self.bn2(self.c1(h), *cond)))
        return h + self.sc(F.interpolate(x, scale_factor=2))


class DownBlock(nn.Module):
    """ReLU → conv3 → ReLU → conv3 (→ avgpool), plus conv1 (→ avgpool) shortcut; ``first`` skips the pre-ReLU."""

    def __init__(self, cin: int, cout: int, down: bool, first: bool = False):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else None
        self.down, self.first = down, first

    def forward(self, x):
        h = self.c1(x if self.first else F.relu(x))
        h = self.c2(F.relu(h))
        s = x
        if self.first:  # optimized block: pool before the 1×1 shortcut conv
            s = self.sc(F.avg_pool2d(x, 2)) if self.down else self.sc(x)
        elif self.sc is not None:
            s = self.sc(x)
            s = F.avg_pool2d(s, 2) if self.down else s
        return (F.avg_pool2d(h, 2) if self.down else h) + s


class ResNetTrunk(nn.Module):
    """The SNGAN D body: (N, C, H, W) → (N, ch) features (ReLU, global sum pool)."""

    def __init__(self, channels: int, ch: int):
        super().__init__()
        self.blocks = nn.Sequential(
            DownBlock(channels, ch, down=True, first=True), DownBlock(ch, ch, down=True),
            DownBlock(ch, ch, down=False), DownBlock(ch, ch, down=False),
        )
        self.out_features = ch

    def forward(self, x):
        return F.relu(self.blocks(x)).sum(dim=(2, 3))


@GENERATORS.register("resnet")
class ResNetGenerator(nn.Module):
    """SNGAN ResNet generator (32×32 CIFAR layout; also any side 4·2^k or 7·2^k)."""

    def __init__(self, img_shape: tuple = (3, 32, 32), z_dim: int = 128, ch: int = 256):
        super().__init__()
        c, start, n_up = conv_plan(img_shape, "generator", "resnet")
        self.z_dim, self.img_shape, self.start, self.ch = z_dim, tuple(img_shape), start, ch
        self.fc = nn.Linear(z_dim, ch * start * start)
        self.blocks = nn.ModuleList(UpBlock(ch, ch) for _ in range(n_up))
        self.out = nn.Sequential(nn.BatchNorm2d(ch), nn.ReLU(True), nn.Conv2d(ch, c, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.fc(z).view(-1, self.ch, self.start, self.start)
        for b in self.blocks:
            h = b(h)
        return self.out(h)


@DISCRIMINATORS.register("resnet")
class ResNetDiscriminator(FeatureDiscriminator):
    """SNGAN ResNet discriminator with spectral norm (global sum pooling: any side ≥ 8)."""

    def __init__(self, img_shape: tuple = (3, 32, 32), ch: int = 128, spectral_norm: bool = True):
        super().__init__()
        self.trunk = ResNetTrunk(min_side(img_shape, 8, "discriminator", "resnet"), ch)
        self.head = nn.Linear(ch, 1)
        if spectral_norm:
            apply_spectral_norm(self)

