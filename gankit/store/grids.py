"""Sample grids: where a run keeps them (``samples/step-0000123.png``, and ``samples/real.png``: real
training images laid out alike, written once when training starts) and the grid PNG itself.

Training's sample grids, ``gankit sample``, ``gankit export`` (the model card's grid), style
mixing and ``gankit neighbours`` all draw their grids here, so every picture of a model has the
same padding and scaling. The grid is torchvision's ``make_grid``/``save_image`` layout, pixel for
pixel, without importing torchvision (whose import costs seconds at every process start).
"""
import io
import re
from pathlib import Path

import torch
from PIL import Image

from gankit.store.files import SAMPLES_DIR, STEP_PREFIX, read_bounded, write_bytes_atomic

PADDING = 2
REAL_GRID = "real.png"

_GRID = re.compile(rf"{STEP_PREFIX}(\d+)\.png")


# -- a run's sample grids ------------------------------------------------------------------
def grid_path(run_dir: str | Path, step: int) -> Path:
    """Where the sample grid of ``step`` goes: ``samples/step-0000123.png``."""
    return Path(run_dir) / SAMPLES_DIR / f"{STEP_PREFIX}{step:07d}.png"


def grid_step(path: str | Path) -> int | None:
    """The step of a sample grid file (None for any other file)."""
    m = _GRID.fullmatch(Path(path).name)
    return int(m.group(1)) if m else None


def grids(run_dir: str | Path) -> list[Path]:
    """The sample grids of a run, oldest first: the files gankit wrote (no symlink, device or pipe)."""
    found = [p for p in (Path(run_dir) / SAMPLES_DIR).glob(f"{STEP_PREFIX}*.png")
             if grid_step(p) is not None and is_plain_file(p)]
    return sorted(found, key=grid_step)


def is_plain_file(path: Path) -> bool:
    """A regular file that is not a symlink: what a run writes into samples/."""
    return path.is_file() and not path.is_symlink()


MAX_GRID_BYTES = 64 * 2**20  # a 64-image grid of 1024² RGB images is about 40 MiB


def read_grid(path: str | Path) -> bytes | None:
    """The PNG bytes of a sample grid for a page, or None when it is not a plain file of at most ``MAX_GRID_BYTES``."""
    path = Path(path)
    if not is_plain_file(path):
        return None
    try:
        return read_bounded(path, MAX_GRID_BYTES)
    except OSError:
        return None


def real_grid_path(run_dir: str | Path) -> Path:
    """Where a run's grid of real training images goes: ``samples/real.png``."""
    return Path(run_dir) / SAMPLES_DIR / REAL_GRID


def write_real_grid(run_dir: str | Path, images: torch.Tensor, nrow: int) -> Path:
    """The grid of real images (in [-1, 1]) beside which a run's samples are shown, written atomically."""
    path = real_grid_path(run_dir)
    save_grid(images, path, nrow, format="png")
    return path


def write_grid(run_dir: str | Path, step: int, images: torch.Tensor, nrow: int) -> Path:
    """The sample grid of ``step`` (images in [-1, 1]), written atomically: a kill mid-write leaves no half PNG."""
    path = grid_path(run_dir, step)
    save_grid(images, path, nrow, format="png")
    return path


# -- the grid picture ----------------------------------------------------------------------
def tile(images: torch.Tensor, nrow: int, padding: int = PADDING, pad_value: float = 0.0) -> torch.Tensor:
    """Images (N, C, H, W) as one (3 or C, rows·(H+p)+p, nrow·(W+p)+p) picture, ``nrow`` per row, with
    ``padding`` pixels of ``pad_value`` around each (grey images become RGB): torchvision's ``make_grid``."""
    x = images.detach().float()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, c, h, w = x.shape
    if n == 1:  # one image is its own picture, unpadded (as make_grid)
        return x[0].clone()
    cols = min(nrow, n)
    rows = -(-n // cols)
    out = torch.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), float(pad_value))
    for i in range(n):
        top, left = (i // cols) * (h + padding) + padding, (i % cols) * (w + padding) + padding
        out[:, top:top + h, left:left + w] = x[i]
    return out


def save_picture(picture: torch.Tensor, path, format: str | None = None) -> Path | object:
    """A (C, H, W) picture in [0, 1] as an 8-bit PNG (rounded as torchvision's ``save_image``); a path is
    written atomically (a full disk: ``DiskFull``, and no file under that name)."""
    pixels = picture.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    if not isinstance(path, (str, Path)):
        Image.fromarray(pixels).save(path, format=format or "png")
        return path
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=format or "png")
    write_bytes_atomic(path, buf.getvalue())
    return path


def save_grid(images: torch.Tensor, path, nrow: int, format: str | None = None):
    """Images in [-1, 1] (N, C, H, W) as one PNG grid of ``nrow`` images per row."""
    unit = images.detach().float().clamp(-1, 1).add(1).div(2)
    return save_picture(tile(unit, nrow), path, format)
