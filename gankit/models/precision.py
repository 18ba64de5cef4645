"""Per-layer precision, as StyleGAN2-ADA and R3GAN train: the ``num_fp16_res`` highest resolutions of a
network in fp16, the rest in fp32 (StyleGAN2-ADA: ``use_fp16 = res >= max(2^(log2 R + 1 − N), 8)``, so
never below 8×8; R3GAN's CIFAR-10 preset: its last three stages of G, the first three of D, in bf16:
R3GAN's ``half: bf16``).

A network with ``num_fp16_res > 0`` runs its own precision: its forward turns autocast off
(``own_precision``), whatever ``trainer.precision`` asked for, and each block casts its input to its
dtype (the weights follow the input: every layer casts them), as the anchors do. Parameters stay
fp32. ``trainer.precision=fp16`` then only supplies accelerate's grad scaler (loss scaling for the
fp16 layers' gradients); with ``no`` the fp16 layers train unscaled, as StyleGAN2-ADA does.
StyleGAN2 also takes ``conv_clamp``: convolution outputs clamped to ±conv_clamp (StyleGAN2-ADA: 256)
so that fp16 activations cannot overflow. With ``num_fp16_res = 0`` (the default) nothing changes.
"""
import contextlib
from typing import Optional, Sequence

import torch

from gankit.errors import GankitError

FP16_FLOOR = 8  # StyleGAN2-ADA: no fp16 below 8×8
HALVES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def fp16_sides(sides: Sequence[int], num_fp16_res: int, key: str) -> frozenset[int]:
    """The sides (of ``sides``) whose blocks run in fp16: the ``num_fp16_res`` largest, none below 8."""
    if isinstance(num_fp16_res, bool) or not isinstance(num_fp16_res, int) or num_fp16_res < 0:
        raise GankitError(f"{key}.num_fp16_res: the number of highest resolutions that run in fp16, a whole number "
                          f"≥ 0 (0: none, the network follows trainer.precision), got {num_fp16_res!r}.")
    if not num_fp16_res:
        return frozenset()
    top = sorted(set(sides), reverse=True)[:num_fp16_res]
    return frozenset(s for s in top if s >= FP16_FLOOR)


def check_clamp(conv_clamp: Optional[float], key: str) -> Optional[float]:
    if conv_clamp is not None and not conv_clamp > 0:
        raise GankitError(f"{key}.conv_clamp: the bound convolution outputs are clamped to (StyleGAN2-ADA: 256), "
                          f"a number > 0, or null for none; got {conv_clamp!r}.")
    return None if conv_clamp is None else float(conv_clamp)


def half_dtype(half: str, key: str) -> torch.dtype:
    """The 16-bit type of the ``num_fp16_res`` blocks: fp16 (StyleGAN2-ADA) or bf16 (R3GAN's code)."""
    if half not in HALVES:
        raise GankitError(f"{key}.half: the type the num_fp16_res highest resolutions run in, fp16 or bf16 "
                          f"(R3GAN's code: bf16), got {half!r}.")
    return HALVES[half]


def block_dtype(side: int, fp16: frozenset[int], on: bool, half: torch.dtype = torch.float16) -> Optional[torch.dtype]:
    """The dtype of the block at ``side``: ``half`` or float32 with per-layer precision ``on``; None otherwise."""
    if not on:
        return None
    return half if side in fp16 else torch.float32


def own_precision(on: bool, device: torch.device):
    """The context a network with per-layer precision runs in: autocast off (its blocks cast themselves)."""
    return torch.autocast(device_type=device.type, enabled=False) if on else contextlib.nullcontext()


def clamp(x: torch.Tensor, bound: Optional[float]) -> torch.Tensor:
    """``x`` clamped to ±bound (``conv_clamp``); as it is with none."""
    return x if bound is None else x.clamp(-bound, bound)
