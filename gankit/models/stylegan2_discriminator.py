"""StyleGAN2's discriminator, as StyleGAN2-ADA trains it (Karras et al. 2020; see ``stylegan2.py``).

fromRGB, then per resolution a residual block (3×3 conv, 3×3 conv with ×½ down, plus a 1×1 ×½ skip,
the sum × √½; ``architecture: orig`` drops the skip), then at start×start the epilogue: minibatch
std, 3×3 conv, linear, linear to 1 logit or, class-conditional, to cmap_dim with
logit = ⟨out, cmap⟩ / √cmap_dim, cmap = a mapping network of the label (projection).
Per-layer precision (``num_fp16_res``, ``conv_clamp``: ``gankit.models.precision``): the blocks of the N
highest resolutions in fp16, the rest and the epilogue in fp32, as StyleGAN2-ADA.
"""
import math
from typing import Optional

import torch
from torch import nn

from gankit.config.registry import DISCRIMINATORS
from gankit.errors import GankitError
from gankit.models.layers import conditional_classes, conv_plan
from gankit.models.precision import block_dtype, check_clamp, fp16_sides, own_precision
from gankit.models.stylegan2_layers import Conv2dLayer, FullyConnected, MinibatchStd
from gankit.models.stylegan2_mapping import MappingNetwork, widths


class DiscriminatorBlock(nn.Module):
    """One resolution of D: [fromRGB,] 3×3 conv, 3×3 conv ×½ down; 'resnet' adds a 1×1 ×½ skip (sum × √½)."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int, architecture: str,
                 dtype: Optional[torch.dtype] = None, conv_clamp: Optional[float] = None):
        super().__init__()
        self.dtype = dtype  # per-layer precision: float16 | float32; None: as autocast runs it
        c = dict(activation="lrelu", conv_clamp=conv_clamp)  # as StyleGAN2-ADA, the skip is not clamped
        self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, **c) if in_channels == 0 else None
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, **c)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, down=2, **c)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2) if architecture == "resnet" else None

    def forward(self, x: Optional[torch.Tensor], img: torch.Tensor) -> torch.Tensor:
        if self.fromrgb is not None:
            x = self.fromrgb(img if self.dtype is None else img.to(self.dtype))
        elif self.dtype is not None:
            x = x.to(self.dtype)
        if self.skip is None:
            return self.conv1(self.conv0(x))
        y = self.skip(x, gain=math.sqrt(0.5))
        return y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))


class DiscriminatorEpilogue(nn.Module):
    """At start×start: minibatch std, 3×3 conv, linear (leaky ReLU), linear to 1 or cmap_dim outputs."""

    def __init__(self, channels: int, side: int, cmap_dim: int, mbstd_group: int, mbstd_channels: int,
                 conv_clamp: Optional[float] = None):
        super().__init__()
        self.mbstd = MinibatchStd(mbstd_group, mbstd_channels) if mbstd_channels > 0 else None
        self.conv = Conv2dLayer(channels + mbstd_channels, channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnected(channels * side * side, channels, activation="lrelu")
        self.out = FullyConnected(channels, cmap_dim or 1)
        self.cmap_dim = cmap_dim

    def forward(self, x: torch.Tensor, cmap: Optional[torch.Tensor]) -> torch.Tensor:
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if cmap is None:
            return x.squeeze(1)
        return (x * cmap.to(x.dtype)).sum(dim=1) / math.sqrt(self.cmap_dim)


@DISCRIMINATORS.register("stylegan2")
class StyleGAN2Discriminator(nn.Module):
    """StyleGAN2 (-ADA) discriminator: residual blocks, [1,3,3,1] down-sampling, minibatch std, projection (cmap)."""

    def __init__(self, img_shape: tuple = (1, 32, 32), num_classes: Optional[int] = None,
                 conditional: Optional[bool] = None, channel_base: int = 32768, channel_max: int = 512,
                 architecture: str = "resnet", mbstd_group: int = 4, mbstd_channels: int = 1,
                 mapping_layers: int = 8, mapping_lr: float = 0.01, cmap_dim: Optional[int] = None,
                 num_fp16_res: int = 0, conv_clamp: Optional[float] = None):
        super().__init__()
        if architecture not in ("resnet", "orig"):
            raise GankitError(f"discriminator.architecture: resnet (StyleGAN2's residual D) or orig (no skips), "
                              f"got {architecture!r}.")
        if mbstd_group < 1 or mbstd_channels < 0:
            raise GankitError(f"discriminator.mbstd_group must be ≥ 1 and mbstd_channels ≥ 0, got "
                              f"{mbstd_group}, {mbstd_channels}.")
        channels, self.start, n_up = conv_plan(img_shape, "discriminator", "stylegan2")
        self.num_classes = conditional_classes(num_classes, conditional, "discriminator", "stylegan2")
        self.conditional = bool(self.num_classes)
        self.img_shape = tuple(img_shape)
        sides = [self.start * 2 ** k for k in range(n_up, -1, -1)]  # fine → coarse, down to start
        self.widths = widths(sides, channel_base, channel_max, "discriminator")
        last = self.widths[self.start]
        if mbstd_channels and last % mbstd_channels:
            raise GankitError(f"discriminator.mbstd_channels: {mbstd_channels} must divide the last width {last}.")
        fp16, self.own_precision = fp16_sides(sides[:-1], num_fp16_res, "discriminator"), num_fp16_res > 0
        clamp = check_clamp(conv_clamp, "discriminator")
        self.blocks = nn.ModuleList()
        for i, r in enumerate(sides[:-1]):
            cin = 0 if i == 0 else self.widths[r]
            self.blocks.append(DiscriminatorBlock(cin, self.widths[r], self.widths[r // 2], channels, architecture,
                                                  block_dtype(r, fp16, self.own_precision), clamp))
        self.cmap_dim = int(cmap_dim or last) if self.conditional else 0
        self.mapping = (MappingNetwork(0, self.num_classes, self.cmap_dim, None, mapping_layers, mapping_lr,
                                       w_avg_beta=None) if self.conditional else None)
        self.epilogue = DiscriminatorEpilogue(last, self.start, self.cmap_dim, mbstd_group, mbstd_channels, clamp)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        with own_precision(self.own_precision, x.device):  # num_fp16_res: its blocks cast themselves
            cmap = None
            if self.mapping is not None:
                if y is None:
                    raise ValueError("this stylegan2 discriminator is class-conditional: pass labels y")
                cmap = self.mapping(None, y)
            h = None
            for block in self.blocks:
                h = block(h, x)
            if self.own_precision:  # the epilogue in fp32, as StyleGAN2-ADA
                h = h.float()
            return self.epilogue(h, cmap)
