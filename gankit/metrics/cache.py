"""Reference features of real data, cached once per (data, extractor, count, weights) as safetensors + JSON.

The cache folder is ``$GANKIT_CACHE`` or ``~/.cache/gankit/stats``. The file name is a hash of
everything the features depend on, so changing any of it (dataset arguments, split, the images
themselves — ``content_sha256`` —, extractor, sample count, subset seed, extractor weights) misses
the cache instead of reusing stale numbers.
"""
import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from gankit.store.files import replacing, write_text_atomic

FORMAT = 1


def content_sha256(images: torch.Tensor, rows: int = 4096) -> str:
    """sha256 of a uint8 image tensor's shape and bytes, read in chunks of rows (memory-mapped data is
    never copied whole): two datasets with the same arguments but different images get different keys."""
    h = hashlib.sha256(str(tuple(images.shape)).encode())
    for chunk in images.split(rows):
        h.update(chunk.contiguous().numpy().data)
    return h.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("GANKIT_CACHE") or Path.home() / ".cache" / "gankit" / "stats").expanduser()


def cache_key(meta: dict) -> str:
    text = json.dumps({"format": FORMAT, **meta}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _path(meta: dict) -> Path:
    return cache_dir() / f"{meta.get('extractor', 'features')}-{cache_key(meta)}.safetensors"


def load(meta: dict) -> dict[str, torch.Tensor] | None:
    """The cached tensors for ``meta``, or None when absent or unreadable (a damaged file is a miss)."""
    path = _path(meta)
    if not path.is_file():
        return None
    try:
        return load_file(str(path))
    except Exception:  # damaged or half-written by another program: recompute
        return None


def save(meta: dict, tensors: dict[str, torch.Tensor]) -> Path | None:
    """Write atomically (temporary file, then rename); an unwritable cache folder only skips caching."""
    path = _path(meta)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(tmp))
        write_text_atomic(path.with_suffix(".json"), json.dumps(meta, indent=1, sort_keys=True, default=str))
    except OSError:
        return None
    return path
