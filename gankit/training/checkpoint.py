"""Crash-safe checkpoints: written to a temporary folder, fsynced, then renamed into place.

A checkpoint folder ``checkpoints/step-000123`` exists only once complete. Everything in it
loads without running code: model weights are safetensors, optimizer/scaler/RNG states are
read by accelerate with ``torch.load(weights_only=True)``, our own state is JSON.
"""
import json
import os
import pickle
import shutil
from pathlib import Path

from ..errors import GankitError

PREFIX = "step-"
STATE_FILE = "state.json"


def name_for(step: int) -> str:
    return f"{PREFIX}{step:07d}"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    ck = Path(run_dir) / "checkpoints"
    if not ck.is_dir():
        return []
    found = [p for p in ck.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: p.name)


def latest(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def temp_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f".tmp-{name_for(step)}"


def fsync_tree(path: Path) -> None:
    for root, _, files in os.walk(path):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(root)


def _fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, step: int, keep: int, protect: tuple[str, ...] = ()) -> Path:
    """Make a fully written temporary checkpoint visible, then rotate old ones."""
    fsync_tree(tmp)
    final = tmp.parent / name_for(step)
    if final.exists():  # re-saving the same step (e.g. final save right after a periodic one)
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync_dir(tmp.parent)
    for old in list_checkpoints(tmp.parent.parent)[:-keep]:
        if old.name not in protect:
            shutil.rmtree(old, ignore_errors=True)
    return final


def clean_temporaries(run_dir: Path) -> None:
    """Remove half-written checkpoints left by a crash."""
    ck = Path(run_dir) / "checkpoints"
    if ck.is_dir():
        for p in ck.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)


def write_json(path: Path, data: dict) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def read_state(ckpt: Path) -> dict:
    try:
        return json.loads((Path(ckpt) / STATE_FILE).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise GankitError(f"checkpoint {ckpt}: cannot read {STATE_FILE} ({e}). The checkpoint is damaged; use an older one.") from e


def unsafe_load_error(ckpt: Path, e: Exception) -> GankitError:
    return GankitError(
        f"checkpoint {ckpt}: refused to load a file that is not plain tensors ({type(e).__name__}: "
        f"{str(e).splitlines()[0] if str(e) else ''}). gankit never unpickles code from checkpoints; "
        f"this file was not written by gankit or was tampered with. Use a checkpoint from a trusted run."
    )


UNSAFE_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, OSError, KeyError, ValueError)
