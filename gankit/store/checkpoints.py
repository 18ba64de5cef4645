"""Crash-safe checkpoint folders: written to a temporary folder, fsynced, then renamed into place.

A checkpoint folder ``checkpoints/step-0000123`` exists only once complete (it has its
``state.json``). Everything in it loads without running code: model weights are safetensors,
optimizer/scaler/RNG states are read by accelerate with ``torch.load(weights_only=True)`` and are
checked the same way before anything is loaded (``gankit.store.intact``); our own state is JSON
(``gankit.store.state``). ``publish`` makes a fully written temporary one visible and rotates the old ones;
``checkpoints/best`` is a copy of the checkpoint an evaluation liked best, published atomically the
same way and never removed by rotation. ``clean_temporaries`` removes what a crash left half-written
and puts back a folder parked during a swap; ``disk_errors`` turns a failed write into an error
that says what was kept.
"""
import contextlib
import errno
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from gankit.errors import GankitError
from gankit.store.files import (BEST, CHECKPOINTS_DIR, EMA_FILE, SAMPLES_DIR, STATE_FILE, STEP_PREFIX, disk_full,
                                is_disk_full, read_json, remove_stale_temporaries, size_of, swap_in, write_json_atomic)

PREFIX = STEP_PREFIX
BEST_INFO = "best.json"  # in checkpoints/best: the checkpoint it copies, the metric and its value


def name_for(step: int) -> str:
    return f"{PREFIX}{step:07d}"


def _complete(p: Path) -> bool:
    return p.is_dir() and (p / STATE_FILE).is_file()


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete step checkpoints of a run, oldest first (``best`` is not among them)."""
    ck = Path(run_dir) / CHECKPOINTS_DIR
    if not ck.is_dir():
        return []
    found = [p for p in ck.iterdir() if p.name.startswith(PREFIX) and _complete(p)]
    return sorted(found, key=lambda p: p.name)


def latest(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def best(run_dir: Path) -> Path | None:
    p = Path(run_dir) / CHECKPOINTS_DIR / BEST
    return p if _complete(p) else None


def best_source(run_dir: Path) -> str | None:
    """The name of the step checkpoint ``checkpoints/best`` copies (None when there is none or it cannot be read)."""
    published = best(run_dir)
    try:
        return read_json(published / BEST_INFO).get("source") if published else None
    except (OSError, ValueError):
        return None


def temp_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINTS_DIR / f".tmp-{name_for(step)}"


def publish(tmp: Path, step: int, keep: int, protect: tuple[str, ...] = ()) -> Path:
    """Make a fully written temporary checkpoint visible, then rotate old step checkpoints."""
    final = tmp.parent / name_for(step)
    with disk_errors(tmp, "publishing the checkpoint"):
        swap_in(tmp, final)
    rotate(tmp.parent.parent, keep, protect)
    return final


def rotate(run_dir: Path, keep: int, protect: tuple[str, ...] = ()) -> None:
    """Keep the newest ``keep`` step checkpoints (``best`` lives apart and is never removed)."""
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        if old.name not in protect:
            shutil.rmtree(old, ignore_errors=True)


def publish_best(run_dir: Path, source: Path, info: dict | None = None) -> Path:
    """Publish a complete checkpoint (e.g. the one just saved) as ``checkpoints/best``.

    The copy is written to ``.tmp-best``, fsynced and renamed over the old ``best``, so a crash
    keeps either the old or the new one. ``info`` (metric name and value, step) is stored in
    ``best.json`` inside it. Call on the main process only.
    """
    source = Path(source)
    if not _complete(source):
        raise GankitError(f"checkpoint {source}: not a complete checkpoint; cannot publish it as best.")
    ck = Path(run_dir) / CHECKPOINTS_DIR
    tmp = ck / f".tmp-{BEST}"
    with disk_errors(tmp, "writing the best checkpoint"):
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            shutil.copytree(source, tmp, copy_function=_link_or_copy)
        except shutil.Error as e:  # copytree gathers per-file OSErrors
            raise OSError(errno.EIO, str(e)) from e
        write_json_atomic(tmp / BEST_INFO, {"source": source.name, **(info or {})})
        swap_in(tmp, ck / BEST)
    return ck / BEST


def _link_or_copy(src, dst):
    # Checkpoint files are never modified in place (a new save writes new files), so a hard link is safe.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_ema(ckpt: Path, weights: dict[str, torch.Tensor]) -> None:
    """The EMA generator's weights as ``ckpt/ema.safetensors`` (contiguous: channels_last weights)."""
    save_file({k: v.contiguous() for k, v in weights.items()}, str(Path(ckpt) / EMA_FILE))


def read_ema(ckpt: Path, device: torch.device) -> dict[str, torch.Tensor] | None:
    """The EMA generator's weights of ``ckpt`` on ``device`` (None when it has none)."""
    path = Path(ckpt) / EMA_FILE
    if not path.is_file():
        return None
    # safetensors takes "cpu", not "cpu:0" (a CPU rank's device)
    return load_file(str(path), device="cpu" if device.type == "cpu" else str(device))


def clean_temporaries(run_dir: Path) -> None:
    """Remove half-written checkpoints and files left by a crash; put back a parked old one."""
    for folder in (Path(run_dir), Path(run_dir) / SAMPLES_DIR):
        remove_stale_temporaries(folder)
    ck = Path(run_dir) / CHECKPOINTS_DIR
    if not ck.is_dir():
        return
    for p in ck.glob(".tmp-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in ck.glob(".old-*"):
        final = ck / p.name.removeprefix(".old-")
        if final.exists():
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.replace(p, final)


@contextlib.contextmanager
def disk_errors(tmp: Path, doing: str = "saving a checkpoint"):
    """Turn an OSError while writing (disk full, quota, permissions) into a GankitError.

    The half-written ``tmp`` folder is removed; published checkpoints are left as they were. A full
    disk is ``files.disk_full``'s message (the bytes needed: the size of the newest checkpoint, else
    what was written before the disk filled), with what was kept and how to resume.
    """
    try:
        yield
    except Exception as e:  # noqa: BLE001 - torch and safetensors report a full disk in their own types
        if not isinstance(e, OSError) and not is_disk_full(e):
            raise
        written = size_of(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        kept = latest(tmp.parent.parent)
        if is_disk_full(e):
            needed = (size_of(kept) if kept else 0) or written or None
            raise disk_full(tmp.parent / name_for_tmp(tmp), e, needed,
                            f"The incomplete checkpoint was removed and earlier ones are untouched (latest complete: "
                            f"{kept or '(none)'}).", f"Free disk space (or lower trainer.keep_checkpoints) and resume "
                            f"with: gankit train --resume {tmp.parent.parent}") from None
        what = os.strerror(e.errno) if isinstance(e, OSError) and e.errno else (str(e) or type(e).__name__)
        raise GankitError(
            f"trainer.checkpoint_every: {doing} into {tmp.parent} failed ({what}: {e}). The incomplete "
            f"checkpoint was removed and earlier ones are untouched (latest complete: {kept or '(none)'}). "
            f"Free disk space (or lower trainer.keep_checkpoints) and resume with: "
            f"gankit train --resume {tmp.parent.parent}"
        ) from None


def name_for_tmp(tmp: Path) -> str:
    """The final name of a temporary checkpoint folder (``.tmp-step-0000012`` → ``step-0000012``)."""
    return tmp.name.removeprefix(".tmp-")
