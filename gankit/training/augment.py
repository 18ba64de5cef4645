"""Differentiable augmentation of D's inputs (applied to real AND fake, so G learns through it).

The ops are grouped into policies, entries of ``AUGMENT_POLICIES`` (``color``, ``translation``,
``cutout``; a plugin may add one): ``policy(x, **kwargs) -> x'``, taking the augment's keyword
arguments (``translation_ratio``, ``cutout_ratio``) and ignoring those it does not use.

An augment is an ``Augment`` (its contract: ``gankit.training.augment_base``).
DiffAugment (Zhao et al. 2020): each op draws its random parameters per image, keeps the
shape, and is differentiable with respect to the image (G's gradient flows through it).
"""
import torch
import torch.nn.functional as F

from gankit.config.registry import AUGMENT_POLICIES, AUGMENTS
from gankit.config.validate import policy_problems
from gankit.errors import GankitError, raise_if
from gankit.training.augment_base import Augment

Tensor = torch.Tensor


def _rand(x: Tensor) -> Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def brightness(x: Tensor, **_) -> Tensor:
    """Add a per-image offset in [−0.5, 0.5)."""
    return x + (_rand(x) - 0.5)


def saturation(x: Tensor, **_) -> Tensor:
    """Scale each pixel's distance from its channel mean by a factor in [0, 2)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_rand(x) * 2) + mean


def contrast(x: Tensor, **_) -> Tensor:
    """Scale the distance from the image mean by a factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean


@AUGMENT_POLICIES.register("translation")
def translation(x: Tensor, translation_ratio: float = 0.125, **_) -> Tensor:
    """Shift by up to ratio·size pixels in each direction, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = int(h * translation_ratio + 0.5), int(w * translation_ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gy = torch.clamp(gy + ty + 1, 0, h + 1)
    gx = torch.clamp(gx + tx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])  # a zero border that out-of-range pixels read from
    return padded.permute(0, 2, 3, 1)[gb, gy, gx].permute(0, 3, 1, 2).contiguous()


@AUGMENT_POLICIES.register("cutout")
def cutout(x: Tensor, cutout_ratio: float = 0.5, **_) -> Tensor:
    """Zero one random square of ratio·size per image (it may be clipped by the border)."""
    n, _, h, w = x.shape
    ch, cw = int(h * cutout_ratio + 0.5), int(w * cutout_ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gy = torch.clamp(gy + oy - ch // 2, 0, h - 1)
    gx = torch.clamp(gx + ox - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gy, gx] = 0
    return x * mask.unsqueeze(1)


@AUGMENT_POLICIES.register("color")
def color(x: Tensor, **_) -> Tensor:
    """Brightness, saturation and contrast, in that order (the paper's color group)."""
    return contrast(saturation(brightness(x)))


@AUGMENTS.register("diffaugment")
class DiffAugment(Augment):
    """DiffAugment (Zhao et al. 2020): differentiable color, translation and cutout on real and fake."""

    def __init__(self, policy: str = "color,translation,cutout", translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5, p: float = 1.0):
        raise_if(policy_problems(policy, "augment.policy"))
        names = [s.strip() for s in str(policy).split(",") if s.strip()]
        if not 0 <= p <= 1:
            raise GankitError(f"augment.p: the probability of augmenting a batch must be in [0, 1], got {p}.")
        self.ops = [AUGMENT_POLICIES.get(s) for s in names]  # each an AUGMENT_POLICIES entry
        self.kwargs = {"translation_ratio": translation_ratio, "cutout_ratio": cutout_ratio}
        self.p = p

    def __call__(self, x: Tensor) -> Tensor:
        if self.p < 1 and torch.rand(()).item() >= self.p:
            return x
        for op in self.ops:
            x = op(x, **self.kwargs)
        return x
