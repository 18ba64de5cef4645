"""Crash-safe checkpoints: written to a temporary folder, fsynced, then renamed into place.

A checkpoint folder ``checkpoints/step-0000123`` exists only once complete. Everything in it
loads without running code: model weights are safetensors, optimizer/scaler/RNG states are
read by accelerate with ``torch.load(weights_only=True)`` and are checked the same way before
anything is loaded (``verify``); our own state is JSON.

``checkpoints/best`` is a copy of the checkpoint an evaluation liked best, published
atomically the same way and never removed by rotation. ``Checkpointer`` is what the trainer
calls: it decides when a save is due, saves, loads and publishes the best.

A checkpoint damaged after it was written (cut short, a file replaced or missing, or one written
by another recipe: ``gankit.training.intact``) is never loaded: resuming takes the newest intact
one and moves each damaged newer one aside to ``checkpoints/damaged-step-…`` (never deleting it),
with a warning naming it; with none intact it stops, listing what was checked (``resume_point``).
"""
import contextlib
import errno
import json
import os
import pickle
import shutil
import warnings
from pathlib import Path

from accelerate.utils import broadcast_object_list
from accelerate.utils import load as safe_load
from safetensors.torch import load_file, save_file

from gankit.errors import GankitError, first_line
from gankit.runs.files import (BEST, CHECKPOINTS_DIR, EMA_FILE, SAMPLES_DIR, STATE_FILE, STEP_PREFIX,
                               remove_stale_temporaries, swap_in, write_json_atomic)
from gankit.training.intact import PICKLED, UNSAFE_ERRORS, damaged_note, move_aside, newest_intact, none_intact_error

PREFIX = STEP_PREFIX


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
        write_json_atomic(tmp / "best.json", {"source": source.name, **(info or {})})
        swap_in(tmp, ck / BEST)
    return ck / BEST


def _link_or_copy(src, dst):
    # Checkpoint files are never modified in place (a new save writes new files), so a hard link is safe.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


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

    The half-written ``tmp`` folder is removed; published checkpoints are left as they were.
    """
    try:
        yield
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        what = os.strerror(e.errno) if e.errno else (str(e) or type(e).__name__)
        kept = latest(tmp.parent.parent)
        raise GankitError(
            f"trainer.checkpoint_every: {doing} into {tmp.parent} failed ({what}: {e}). The incomplete "
            f"checkpoint was removed and earlier ones are untouched (latest complete: {kept or '(none)'}). "
            f"Free disk space (or lower trainer.keep_checkpoints) and resume with: "
            f"gankit train --resume {tmp.parent.parent}"
        ) from None


def read_state(ckpt: Path) -> dict:
    try:
        state = json.loads((Path(ckpt) / STATE_FILE).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GankitError(f"checkpoint {ckpt}: cannot read {STATE_FILE} ({e}). The checkpoint is damaged; "
                          f"use another one (resuming the run moves it aside and continues from an older one).") from None
    if not isinstance(state, dict):
        raise GankitError(f"checkpoint {ckpt}: {STATE_FILE} holds no mapping. The checkpoint is damaged; "
                          f"use another one (resuming the run moves it aside and continues from an older one).")
    return state


def verify(ckpt: Path) -> None:
    """Refuse a checkpoint holding anything but plain tensors and numbers, before loading any of it.

    Every pickle-based file (``*.bin``, ``*.pkl``, ``*.pt``) is opened with
    ``torch.load(weights_only=True)`` (accelerate's allow-list for RNG states included), which
    rejects any object that would run code; safetensors files hold no code by design.
    """
    ckpt = Path(ckpt)
    for f in sorted(ckpt.iterdir()):
        if f.suffix in PICKLED:
            try:
                safe_load(f, map_location="cpu", weights_only=True)
            except UNSAFE_ERRORS as e:
                raise unsafe_load_error(f, e) from None


def unsafe_load_error(ckpt: Path, e: Exception) -> GankitError:
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return GankitError(
        f"checkpoint {ckpt}: refused to load a file that is not plain tensors ({type(e).__name__}: "
        f"{first[:300]}). gankit never unpickles code from checkpoints; this file was not written by "
        f"gankit or was tampered with. Use a checkpoint from a trusted run (--resume RUN_DIR)."
    )


def load_error(ckpt: Path, e: Exception) -> GankitError:
    """A checkpoint that passed the checks but did not load into this run's models and optimizers."""
    if isinstance(e, pickle.UnpicklingError):
        return unsafe_load_error(ckpt, e)
    return GankitError(
        f"checkpoint {ckpt}: does not load into this run's models and optimizers ({type(e).__name__}: "
        f"{first_line(e)[:300]}). It was written by another recipe or is damaged; move it out of "
        f"{Path(ckpt).parent} to resume from an older one."
    )


class Checkpointer:
    """A run's checkpoints: due every ``every`` steps (and at the end), saved by every process as
    accelerate requires, published by the main one; loaded after verification."""

    def __init__(self, acc, run_dir: Path, every: int, keep: int):
        self.acc, self.run_dir, self.every, self.keep = acc, Path(run_dir), every, keep

    def due(self, step: int, last: bool) -> bool:
        return step % self.every == 0 or last

    def latest(self) -> Path | None:
        return latest(self.run_dir)

    def save(self, step: int, state: dict, ema=None) -> Path | None:
        """Write checkpoint ``step`` (training state, ``state`` as JSON, the EMA weights); the path on the main process."""
        acc, tmp = self.acc, temp_dir(self.run_dir, step)
        if acc.is_main_process:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            if tmp.exists():
                shutil.rmtree(tmp)
        acc.wait_for_everyone()
        final = None
        with disk_errors(tmp):
            acc.save_state(str(tmp), safe_serialization=True)
            if acc.is_main_process:
                if ema is not None:  # contiguous: channels_last weights
                    save_file({k: v.contiguous() for k, v in ema.state_dict().items()}, str(tmp / EMA_FILE))
                write_json_atomic(tmp / STATE_FILE, state)
                final = publish(tmp, step, self.keep)
        acc.wait_for_everyone()
        return final

    def resume_point(self, fingerprint: str | None = None) -> Path:
        """The newest intact checkpoint, the same on every process. The main process checks them
        (``problem``), moves the damaged newer ones aside and warns; with none intact every process
        raises the error that lists what was checked."""
        decision = [None]
        if self.acc.is_main_process:
            chosen, damaged = newest_intact(self.run_dir, fingerprint)
            if chosen is None:
                decision[0] = ("error", str(none_intact_error(self.run_dir, damaged, "--resume")))
            else:
                if damaged:
                    moved = [move_aside(c) for c, _ in damaged]
                    warnings.warn(f"--resume: {damaged_note(damaged, chosen, moved)}", RuntimeWarning, stacklevel=2)
                decision[0] = ("ok", chosen.name)
        broadcast_object_list(decision)
        kind, value = decision[0]
        if kind == "error":
            raise GankitError(value)
        return self.run_dir / CHECKPOINTS_DIR / value

    def load(self, path: Path | None, ema=None) -> dict:
        """Restore the training state of checkpoint ``path`` (and the EMA weights); returns its JSON state.

        ``path`` comes from ``resume_point``, which has checked every file (``problem``: nothing but
        plain tensors in the pickle-format ones) on the main process; ``verify`` checks them here on
        the others, which may not share its disk."""
        if path is None:
            raise GankitError(f"--resume: {self.run_dir} has no complete checkpoint to resume from.")
        state = read_state(path)
        if not self.acc.is_main_process:
            verify(path)
        try:
            self.acc.load_state(str(path))
        except UNSAFE_ERRORS as e:
            raise load_error(path, e) from None
        if ema is not None:
            if not (path / EMA_FILE).is_file():
                raise GankitError(f"ema.enabled: the run now keeps an EMA of G, but checkpoint {path} has none "
                                  f"({EMA_FILE}). Resume with ema.enabled=false, or start a new run.")
            device = self.acc.device  # safetensors takes "cpu", not "cpu:0" (a CPU rank's device)
            ema.load_state_dict(load_file(str(path / EMA_FILE), device="cpu" if device.type == "cpu" else str(device)))
        return state

    def publish_best(self, path: Path | None, record: dict | None) -> None:
        if record is not None and path is not None and self.acc.is_main_process:
            publish_best(self.run_dir, path, record)

    def republish_best(self, path: Path, record: dict) -> None:
        """Publish checkpoint ``path`` as best unless ``best`` already holds it (a resume after a
        crash between saving the best checkpoint and publishing it)."""
        published = best(self.run_dir)
        try:
            source = json.loads((published / "best.json").read_text()).get("source") if published else None
        except (OSError, ValueError):
            source = None
        if source != Path(path).name:
            self.publish_best(path, record)
        self.acc.wait_for_everyone()
