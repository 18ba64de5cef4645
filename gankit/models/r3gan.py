"""R3GAN backbone (Huang et al. 2024, "The GAN is dead; long live the GAN!"): a normalisation-free ResNeXt GAN.

G: [z, embed(y)] → learned side×side basis scaled by a linear map of it → stage 0 blocks → (1×1 if the
width changes, ×2 [1,2,1] upsampling, blocks) per further stage → 1×1 to the image channels (no tanh).
D: 1×1 from the image channels → (blocks, ×2 downsampling, 1×1 if the width changes) per stage →
last stage's blocks → depthwise side×side basis → linear to 1 logit, or, class-conditional, to an
embedding dotted with embed(y) (projection, with no unconditional term, as R3GAN).

Widths, blocks and cardinalities are per stage, in the order the data flows (G: coarse → fine, D: fine
→ coarse, as R3GAN's train.py lists them); an int means the same for every stage. The stages follow
the image side: start·2^k with start 4 (16, 32, 64, ...) or 7 (28, 56, ...), k + 1 stages.
Per-layer precision (``num_fp16_res``, ``gankit.models.precision``): the stages of the N highest resolutions
in fp16 (or ``half: bf16``; G's last N, D's first N; R3GAN's CIFAR-10 preset: 3 in bf16), the rest in fp32;
R3GAN clamps nothing.
Class conditioning is on when the data has ≥ 2 classes (``conditional: null``, the default), always
(``true``: the data must have labels) or never (``false``).
"""
import math
from typing import Optional, Sequence, Union

import torch
from torch import nn

from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.errors import GankitError
from gankit.models.base import FeatureDiscriminator
from gankit.models.layers import check_image_output, conditional_classes, conv_plan, image_output
from gankit.models.precision import block_dtype, fp16_sides, half_dtype, own_precision
from gankit.models.r3gan_blocks import (DiscriminativeBasis, DownTransition, GenerativeBasis, ResidualBlock,
                                        UpTransition, conv, linear)

PerStage = Union[int, Sequence[int]]


def per_stage(value: PerStage, stages: int, key: str, side: int) -> list[int]:
    """One int per stage from an int (every stage) or a list of exactly ``stages`` ints."""
    values = [int(value)] * stages if isinstance(value, (int, float)) else [int(v) for v in value]
    if len(values) != stages:
        raise GankitError(f"{key}: r3gan builds {stages} stages for {side}×{side} images, so it needs {stages} "
                          f"values (or one int for all), got {len(values)}: {list(value)}.")
    least = 0 if key.endswith("blocks") else 1
    if min(values) < least:
        raise GankitError(f"{key}: r3gan needs values ≥ {least}, got {values}.")
    return values


def stage_blocks(width: int, count: int, cardinality: int, expansion: int, total: int, kernel: int, key: str):
    try:
        return [ResidualBlock(width, cardinality, expansion, total, kernel) for _ in range(count)]
    except ValueError as e:
        raise GankitError(f"{key}: {e}; choose a cardinality that divides width × expansion.") from None


class _Plan:
    """The stage layout shared by G and D: channels, start side, number of stages and per-stage lists."""

    def __init__(self, who, img_shape, widths, blocks, cardinality, num_fp16_res=0, half="fp16"):
        self.channels, self.start, n_up = conv_plan(img_shape, who, "r3gan")
        self.stages, side = n_up + 1, int(img_shape[-1])
        self.sides = [self.start * 2 ** k for k in range(self.stages)]  # coarse → fine
        self.fp16, self.own_precision = fp16_sides(self.sides, num_fp16_res, who), num_fp16_res > 0
        self.half = half_dtype(half, who)
        self.widths = per_stage(widths, self.stages, f"{who}.widths", side)
        self.blocks = per_stage(blocks, self.stages, f"{who}.blocks", side)
        self.cardinality = per_stage(cardinality, self.stages, f"{who}.cardinality", side)
        self.total = max(1, sum(self.blocks))  # R3GAN's variance scaling parameter L

    def dtypes(self, fine_first: bool) -> list:
        """Each stage's dtype in the order the data flows (per-layer precision; None without it)."""
        sides = self.sides[::-1] if fine_first else self.sides
        return [block_dtype(s, self.fp16, self.own_precision, self.half) for s in sides]


def run_stages(stages, dtypes, h: torch.Tensor) -> torch.Tensor:
    for stage, dtype in zip(stages, dtypes):
        h = stage(h if dtype is None else h.to(dtype))
    return h


@GENERATORS.register("r3gan")
class R3GANGenerator(nn.Module):
    """R3GAN generator: basis × linear([z, embed(y)]), ResNeXt stages, [1,2,1] upsampling, no norms, linear output
    (``output: tanh`` squashes it into [-1, 1], ``tanh_margin`` into [-1.1, 1.1])."""

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: Optional[int] = None,
                 conditional: Optional[bool] = None, z_dim: int = 64, widths: PerStage = 128,
                 blocks: PerStage = 1, cardinality: PerStage = 16, expansion: int = 2,
                 embed_dim: Optional[int] = None, kernel_size: int = 3, resample_filter: Sequence[int] = (1, 2, 1),
                 output: str = "linear", num_fp16_res: int = 0, half: str = "fp16"):
        super().__init__()
        self.output = check_image_output(output, "R3GAN")
        p = _Plan("generator", img_shape, widths, blocks, cardinality, num_fp16_res, half)
        self.dtypes, self.own_precision = p.dtypes(fine_first=False), p.own_precision
        self.num_classes = conditional_classes(num_classes, conditional, "generator", "r3gan")
        self.conditional = bool(self.num_classes)
        self.z_dim, self.img_shape, self.start, self.widths = int(z_dim), tuple(img_shape), p.start, p.widths
        self.embed = None
        code = self.z_dim
        if self.conditional:  # R3GAN: a bias-free linear map of the one-hot label, MSR init (std 1/√classes)
            self.embed_dim = int(embed_dim if embed_dim is not None else z_dim)
            self.embed = nn.Embedding(self.num_classes, self.embed_dim)
            nn.init.normal_(self.embed.weight, 0.0, 1 / math.sqrt(self.num_classes))
            code += self.embed_dim
        self.basis = GenerativeBasis(code, p.widths[0], p.start)
        self.stages = nn.ModuleList()
        for i, (w, n, card) in enumerate(zip(p.widths, p.blocks, p.cardinality)):
            layers = [] if i == 0 else [UpTransition(p.widths[i - 1], w, resample_filter)]
            layers += stage_blocks(w, n, card, expansion, p.total, kernel_size, "generator.cardinality")
            self.stages.append(nn.Sequential(*layers))
        self.to_image = conv(p.widths[-1], p.channels, 1)  # R3GAN's aggregation layer: no activation, no tanh

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise ValueError("this r3gan generator is class-conditional: pass labels y")
            z = torch.cat([z, self.embed(y).to(z.dtype)], dim=1)
        with own_precision(self.own_precision, z.device):  # num_fp16_res: its stages cast themselves
            h = run_stages(self.stages, self.dtypes, self.basis(z))
            x = self.to_image(h)
        return image_output(x.float() if self.own_precision else x, self.output)


class R3GANTrunk(nn.Module):
    """The R3GAN D body: (N, C, H, W) → (N, widths[-1]) features (before the output linear layer)."""

    def __init__(self, p: _Plan, expansion: int, kernel_size: int, resample_filter: Sequence[int]):
        super().__init__()
        self.dtypes, self.own_precision = p.dtypes(fine_first=True), p.own_precision
        self.from_image = conv(p.channels, p.widths[0], 1)  # R3GAN's extraction layer: no activation
        self.stages = nn.ModuleList()
        for i, (w, n, card) in enumerate(zip(p.widths, p.blocks, p.cardinality)):
            layers = stage_blocks(w, n, card, expansion, p.total, kernel_size, "discriminator.cardinality")
            last = i == p.stages - 1
            layers.append(DiscriminativeBasis(w, p.start) if last else DownTransition(w, p.widths[i + 1], resample_filter))
            self.stages.append(nn.Sequential(*layers))
        self.out_features = p.widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.own_precision:
            return run_stages(self.stages, self.dtypes, self.from_image(x))
        with own_precision(True, x.device):  # num_fp16_res: its stages cast themselves; features in fp32
            return run_stages(self.stages, self.dtypes, self.from_image(x.to(self.dtypes[0]))).float()


@DISCRIMINATORS.register("r3gan")
class R3GANDiscriminator(FeatureDiscriminator):
    """R3GAN discriminator: ResNeXt stages, [1,2,1] downsampling, no norms, depthwise basis; projection when conditional."""

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: Optional[int] = None,
                 conditional: Optional[bool] = None, widths: PerStage = 128, blocks: PerStage = 1,
                 cardinality: PerStage = 16, expansion: int = 2, embed_dim: Optional[int] = None,
                 kernel_size: int = 3, resample_filter: Sequence[int] = (1, 2, 1), num_fp16_res: int = 0,
                 half: str = "fp16"):
        super().__init__()
        p = _Plan("discriminator", img_shape, widths, blocks, cardinality, num_fp16_res, half)
        self.num_classes = conditional_classes(num_classes, conditional, "discriminator", "r3gan")
        self.conditional = bool(self.num_classes)
        self.img_shape, self.widths = tuple(img_shape), p.widths
        self.trunk = R3GANTrunk(p, expansion, kernel_size, resample_filter)
        self.embed = None
        if self.conditional:  # R3GAN: the last linear maps to an embedding, dotted with the label's (std 1/√(E·classes))
            self.embed_dim = int(embed_dim if embed_dim is not None else p.widths[-1])
            self.head = linear(p.widths[-1], self.embed_dim)
            self.embed = nn.Embedding(self.num_classes, self.embed_dim)
            nn.init.normal_(self.embed.weight, 0.0, 1 / math.sqrt(self.embed_dim * self.num_classes))
        else:
            self.head = linear(p.widths[-1], 1)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        with own_precision(self.trunk.own_precision, x.device):  # num_fp16_res: the head in fp32 too
            return self._logits(x, y)

    def _logits(self, x: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        h = self.head(self.features(x))
        if self.embed is None:
            return h.squeeze(1)
        if y is None:
            raise ValueError("this r3gan discriminator is class-conditional: pass labels y")
        return (h * self.embed(y).to(h.dtype)).sum(dim=1)
