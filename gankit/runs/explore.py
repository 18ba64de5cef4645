"""Looking inside a generator's latent space: seed lists and spherical interpolation between seeds.

A seed list (``0-7``, ``3,9,12``) gives one image per seed: image ``k`` comes from the latent
``latents(1, z_dim, seed_k)`` alone, so an image can be named by its seed and drawn again in any
company (StyleGAN's convention). A single seed with ``n`` images is the seeded draw of
``gankit.metrics.draws`` instead, the draw evaluation uses.

Interpolation is spherical (slerp): a latent drawn from N(0, I) lies near the sphere of radius
√z_dim, and the straight line between two such points passes well inside it, where the generator
saw no training latents; the great-circle arc stays at their radius.
"""
import math
import re

import torch

from gankit.errors import GankitError
from gankit.metrics.draws import latents

MAX_SEEDS = 10_000
_PART = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_seeds(text: str, flag: str = "--seed") -> list[int]:
    """``"5"`` → [5]; ``"0-3"`` → [0, 1, 2, 3]; ``"0-2,7"`` → [0, 1, 2, 7] (seeds ≥ 0, ends included)."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        m = _PART.match(part)
        if not m:
            raise GankitError(f"{flag}: '{part}' is not a seed or a seed range. Give whole numbers ≥ 0: "
                              f"{flag} 3, {flag} 0-7 (ends included) or {flag} 0-3,10,12.")
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if b < a:
            raise GankitError(f"{flag}: the range '{part}' ends before it starts. Write the smaller seed first, "
                              f"e.g. {flag} {b}-{a}.")
        if len(seeds) + b - a + 1 > MAX_SEEDS:
            raise GankitError(f"{flag}: '{text}' names more than {MAX_SEEDS} seeds. Give fewer (one image each).")
        seeds.extend(range(a, b + 1))
    return seeds


MAX_DRAW_BYTES = 16 * 2**30  # the float images of one draw, held at once


def check_draw(num: int, img_shape, flag: str = "--num") -> None:
    """Refuse a draw of ``num`` images of ``img_shape`` whose float images would take more than
    ``MAX_DRAW_BYTES`` at once (``--num 1000000000`` would fail allocating, or be killed by the system)."""
    need = num * math.prod(img_shape) * 4
    if need > MAX_DRAW_BYTES:
        raise GankitError(f"{flag}: {num:,} images of {'×'.join(map(str, img_shape))} take {need / 2**30:,.0f} GiB "
                          f"at once, more than the {MAX_DRAW_BYTES // 2**30} GiB gankit draws in one call. Give a "
                          f"smaller {flag}, or draw several files with different --seed.")


def seed_latents(seeds: list[int], z_dim: int) -> torch.Tensor:
    """One latent per seed (row ``k`` = ``latents(1, z_dim, seeds[k])``)."""
    if not seeds:
        raise GankitError("seeds: give at least one seed.")
    return torch.cat([latents(1, z_dim, s) for s in seeds])


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points on the arc from ``a`` to ``b`` (1-D latents) at fractions ``t`` (T,) → (T, D).

    The radius moves linearly from |a| to |b| along the arc; (anti)parallel latents fall back to a straight line."""
    a64, b64, t64 = a.double(), b.double(), t.double()[:, None]
    ra, rb = a64.norm(), b64.norm()
    ua, ub = a64 / ra, b64 / rb
    omega = torch.arccos((ua * ub).sum().clamp(-1, 1))
    if torch.sin(omega).abs() < 1e-6:  # (anti)parallel: no unique great circle
        direction = (1 - t64) * ua + t64 * ub
    else:
        direction = (torch.sin((1 - t64) * omega) * ua + torch.sin(t64 * omega) * ub) / torch.sin(omega)
    return (direction * ((1 - t64) * ra + t64 * rb)).to(a.dtype)


def interpolation_latents(seeds: list[int], steps: int, z_dim: int) -> torch.Tensor:
    """Latents from each seed to the next: (len(seeds) - 1, steps, z_dim), both ends included in each row."""
    if len(seeds) < 2:
        raise GankitError("--interpolate: needs at least two seeds to travel between, e.g. --seed 0-3 or --seed 4,9.")
    if steps < 2:
        raise GankitError(f"--interpolate: {steps} images per pair of seeds; give at least 2 (both ends).")
    z = seed_latents(seeds, z_dim)
    t = torch.linspace(0, 1, steps)
    return torch.stack([slerp(z[i], z[i + 1], t) for i in range(len(seeds) - 1)])


def path_frames(rows: torch.Tensor) -> torch.Tensor:
    """The rows of an interpolation as one path (N, ...): each row without the first image of the next."""
    return torch.cat([rows[0]] + [r[1:] for r in rows[1:]])
