"""Style-mixing grids of a style-based generator (StyleGAN Fig. 3; stylegan2-ada-pytorch's style_mixing.py).

A grid has a blank corner, a top row with the image of each column seed, a left column with the image
of each row seed, and in cell (r, c) the image whose first ``cutoff`` copies of w (the coarse styles:
pose, shape) come from column seed c and the others (finer styles: stroke, texture) from row seed r.
Seed s draws z = ``latents(1, z_dim, s)``. The generator needs ``mapping(z, labels, truncation_psi)``,
``synthesis(ws, noise_mode)`` and ``num_ws`` (gankit's ``stylegan2``).
"""
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.metrics.draws import latents
from gankit.models.base import is_conditional
from gankit.store.grids import save_grid


def require_styles(G: nn.Module, key: str = "--mix") -> int:
    """G's number of w copies; a GankitError when G is not style-based."""
    if not (callable(getattr(G, "mapping", None)) and callable(getattr(G, "synthesis", None))
            and isinstance(getattr(G, "num_ws", None), int)):
        raise GankitError(f"{key}: a style-mixing grid needs a style-based generator (mapping, synthesis, num_ws: "
                          f"stylegan2); this run's generator is {type(G).__name__}. Drop {key}.")
    return G.num_ws


def mixing_seeds(num: int, seed: int) -> tuple[list[int], list[int]]:
    """⌊√num⌋ row seeds seed, seed + 1, ..., then as many column seeds after them."""
    side = max(1, int(num ** 0.5))
    return list(range(seed, seed + side)), list(range(seed + side, seed + 2 * side))


@torch.no_grad()
def style_mixing_grid(G: nn.Module, row_seeds: Sequence[int], col_seeds: Sequence[int], cutoff: Optional[int] = None,
                      truncation_psi: float = 1.0, label: int = 0, noise_mode: str = "const",
                      batch_size: int = 64) -> tuple[torch.Tensor, int]:
    """(images in [-1, 1] on the CPU, row-major, images per row) of the grid; ``cutoff`` defaults to
    half of G's w copies. A class-conditional G draws every image of class ``label``."""
    num_ws = require_styles(G)
    k = num_ws // 2 if cutoff is None or cutoff < 0 else int(cutoff)
    if not 0 <= k <= num_ws:
        raise GankitError(f"--mix: the cutoff must be in 0..{num_ws} (this generator has {num_ws} copies of w), "
                          f"got {k}.")
    if not row_seeds or not col_seeds:
        raise GankitError("--mix: a style-mixing grid needs at least one row seed and one column seed.")
    device = next(G.parameters()).device
    seeds = list(dict.fromkeys([*row_seeds, *col_seeds]))
    z = torch.cat([latents(1, G.z_dim, s) for s in seeds]).to(device)
    labels = torch.full((len(seeds),), int(label), device=device, dtype=torch.long) if is_conditional(G) else None
    was_training = G.training
    G.eval()
    try:
        w = dict(zip(seeds, G.mapping(z, labels, truncation_psi=truncation_psi)))
        cells = []
        for r in row_seeds:
            for c in col_seeds:
                cells.append(torch.cat([w[c][:k], w[r][k:]]))

        def images(ws: list[torch.Tensor]) -> torch.Tensor:
            stacked = torch.stack(ws)
            return torch.cat([G.synthesis(stacked[i:i + batch_size], noise_mode=noise_mode).float().clamp(-1, 1).cpu()
                              for i in range(0, len(ws), batch_size)])

        top, left, mixed = images([w[c] for c in col_seeds]), images([w[r] for r in row_seeds]), images(cells)
    finally:
        G.train(was_training)
    cols = len(col_seeds)
    grid = [torch.full_like(top[:1], -1.0), top]
    for i in range(len(row_seeds)):
        grid += [left[i:i + 1], mixed[i * cols:(i + 1) * cols]]
    return torch.cat(grid), cols + 1


def write_mixing_grid(G: nn.Module, out: str | Path, num: int, seed: int, cutoff: Optional[int] = None,
                      truncation_psi: float = 1.0, label: int = 0) -> str:
    """Write ``style_mixing_grid`` for ``mixing_seeds(num, seed)`` as a PNG; returns a line saying what it wrote."""
    if Path(out).suffix.lower() == ".npz":
        raise GankitError("--mix: a style-mixing grid is written as a PNG image; give --out FILE.png.")
    rows, cols = mixing_seeds(num, seed)
    images, nrow = style_mixing_grid(G, rows, cols, cutoff, truncation_psi, label)
    save_grid(images, out, nrow)
    k = G.num_ws // 2 if cutoff is None or cutoff < 0 else cutoff
    return (f"wrote a {len(rows)}×{len(cols)} style-mixing grid to {out} (rows: seeds {rows[0]}..{rows[-1]}, "
            f"columns: seeds {cols[0]}..{cols[-1]}; the first {k} of {G.num_ws} copies of w from the column)")
