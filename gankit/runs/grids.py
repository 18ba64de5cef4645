"""Moving pictures of generated images: animated GIFs and (when imageio and ffmpeg are there) MP4s,
and how many images a grid row holds. The grid PNG itself is drawn by ``gankit.store.grids``.
"""
import importlib.util
import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit.data.base import to_uint8
from gankit.store.files import replacing, write_bytes_atomic


def columns(n: int, labels: torch.Tensor | None = None) -> int:
    """Images per row: one column per class drawn for a class-conditional draw, else a square."""
    if labels is not None:
        return max(1, len(labels.unique()))
    return max(1, int(math.sqrt(n)))


def frames_uint8(images: torch.Tensor, min_side: int = 128) -> list:
    """Images in [-1, 1] as HxWxC uint8 arrays, enlarged by a whole factor (nearest pixel) to at least
    ``min_side`` pixels: a 28-pixel frame is too small to watch."""
    x = to_uint8(images.float().clamp(-1, 1))
    scale = max(1, -(-min_side // max(x.shape[-2:])))
    if scale > 1:
        x = x.repeat_interleave(scale, -2).repeat_interleave(scale, -1)
    return [f.permute(1, 2, 0).numpy() for f in x]


def save_gif(images: torch.Tensor, path: str | Path, fps: float = 12) -> Path:
    """An animated GIF (looping) with one frame per image (Pillow writes it)."""
    frames = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames_uint8(images)]
    buf = io.BytesIO()
    frames[0].save(buf, format="gif", save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0)
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)


def can_write_mp4() -> bool:
    """Whether imageio with its ffmpeg plugin is importable (MP4s are written only then)."""
    return all(importlib.util.find_spec(m) is not None for m in ("imageio", "imageio_ffmpeg"))


def save_mp4(images: torch.Tensor, path: str | Path, fps: float = 12) -> Path:
    """An MP4 with one frame per image, through imageio's ffmpeg plugin (see ``can_write_mp4``)."""
    import imageio.v2 as imageio

    frames = frames_uint8(images, min_side=256)
    frames = [f.repeat(3, -1) if f.shape[-1] == 1 else f for f in frames]
    side = [(s + 15) // 16 * 16 for s in frames[0].shape[:2]]  # codecs want multiples of 16
    with replacing(path) as tmp, imageio.get_writer(tmp, format="FFMPEG", fps=fps, macro_block_size=1) as w:
        for f in frames:
            pad = [(0, side[0] - f.shape[0]), (0, side[1] - f.shape[1]), (0, 0)]
            w.append_data(np.pad(f, pad))
    return Path(path)
