"""A run directory's layout, the crash-safe ways to write into it, and its metrics.jsonl reader.

A run directory holds::

    recipe.yaml          the resolved recipe (RECIPE_FILE)
    metrics.jsonl        one JSON row per log interval and per evaluation (METRICS_FILE)
    samples/step-*.png   sample grids (SAMPLES_DIR, grid_path)
    checkpoints/         step-0000123/ ... and best/ (CHECKPOINTS_DIR, BEST), each with
                         state.json, model.safetensors (the generator), ema.safetensors
    curves.png, report.html

Every write here is atomic: a reader (or a crash) sees the old content or the new, never half.
This module imports only the standard library, so any part of gankit may use it.
"""
import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import NamedTuple

RECIPE_FILE = "recipe.yaml"
METRICS_FILE = "metrics.jsonl"
REPORT_FILE = "report.html"
CURVES_FILE = "curves.png"
SAMPLES_DIR = "samples"
CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "state.json"
EMA_FILE = "ema.safetensors"
MODEL_FILE = "model.safetensors"  # the generator: the first model accelerate saves
BEST = "best"
STEP_PREFIX = "step-"  # checkpoints/step-0000123

_GRID = re.compile(r"step-(\d+)\.png")


# -- sample grids ----------------------------------------------------------------------
def grid_path(run_dir: str | Path, step: int) -> Path:
    """Where the sample grid of ``step`` goes: ``samples/step-0000123.png``."""
    return Path(run_dir) / SAMPLES_DIR / f"step-{step:07d}.png"


def grid_step(path: str | Path) -> int | None:
    """The step of a sample grid file (None for any other file)."""
    m = _GRID.fullmatch(Path(path).name)
    return int(m.group(1)) if m else None


def grids(run_dir: str | Path) -> list[Path]:
    """The sample grids of a run, oldest first."""
    found = [p for p in (Path(run_dir) / SAMPLES_DIR).glob("step-*.png") if grid_step(p) is not None]
    return sorted(found, key=grid_step)


# -- atomic writes -----------------------------------------------------------------------
def fsync_dir(path: str | Path) -> None:
    """Make a folder's entries (new names, renames) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: str | Path) -> None:
    """fsync every file and folder under ``path``."""
    for root, _, files in os.walk(path):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(root)


@contextlib.contextmanager
def replacing(path: str | Path):
    """Yield a temporary path beside ``path``; write it inside the block. On success it is fsynced
    and renamed over ``path``; on any error it is removed and ``path`` keeps its old content."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # the rename is done; making it durable is best effort
        fsync_dir(path.parent)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file so that readers see the old or the new content, never half of it."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, obj) -> None:
    """``write_text_atomic`` of ``obj`` as indented JSON."""
    write_text_atomic(path, json.dumps(obj, indent=1))


def swap_in(tmp_dir: str | Path, final_dir: str | Path) -> None:
    """Rename a complete ``tmp_dir`` folder to ``final_dir``; an existing ``final_dir`` stays until replaced.

    A crash at any moment leaves either the old or the new folder under ``final_dir``, or the
    old one parked as ``.old-<name>`` beside it (to be put back by whoever cleans up after a crash).
    """
    tmp, final = Path(tmp_dir), Path(final_dir)
    fsync_tree(tmp)
    old = final.parent / f".old-{final.name}"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files ``replacing`` left in ``folder`` when its process was killed
    (``.<name>.<pid>.tmp`` whose process is gone); returns them."""
    removed = []
    for p in Path(folder).glob(".*.tmp"):
        m = _TEMP.fullmatch(p.name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


_TEMP = re.compile(r"\..+\.(\d+)\.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


# -- metrics.jsonl -------------------------------------------------------------------------
def trim_metrics(path: str | Path, last_step: int) -> int:
    """Make a metrics.jsonl continue cleanly from checkpoint ``last_step``: drop the rows of later
    steps (a resumed run logs them again) and a last line cut short by a crash. Rewritten
    atomically, only when something changes; returns the number of lines dropped."""
    path = Path(path)
    if not path.is_file():
        return 0
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    kept = [line for i, line in enumerate(lines) if _keeps(line, last_step, last=i == len(lines) - 1)]
    if len(kept) == len(lines) and (not text or text.endswith("\n")):
        return 0
    write_text_atomic(path, "".join(line if line.endswith("\n") else line + "\n" for line in kept))
    return len(lines) - len(kept)


def _keeps(line: str, last_step: int, last: bool) -> bool:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return not (last and not line.endswith("\n"))  # a last line without its end was cut short by a crash
    step = row.get("step") if isinstance(row, dict) else None
    return not (isinstance(step, int) and step > last_step)



class MetricsLog(NamedTuple):
    train: list[dict]  # rows with d_loss or g_loss
    evals: list[dict]  # rows with eval/... keys
    bad: int  # unreadable lines (e.g. the last one, cut short by a crash)


TRAIN_KEYS = ("d_loss", "g_loss")
EVAL_PREFIX = "eval/"


def read_metrics(path: str | Path) -> MetricsLog:
    """Training rows, evaluation rows and the number of unreadable lines of a metrics.jsonl
    (a missing file has none of them)."""
    path = Path(path)
    train, evals, bad = [], [], 0
    if not path.is_file():
        return MetricsLog(train, evals, bad)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a crash
            bad += 1
            continue
        if not isinstance(row, dict) or "step" not in row:
            bad += 1
            continue
        if any(k.startswith(EVAL_PREFIX) for k in row):
            evals.append(row)
        if any(k in row for k in TRAIN_KEYS):
            train.append(row)
    return MetricsLog(train, evals, bad)
