"""The metrics.jsonl of a run: one JSON row per log interval and per evaluation.

``read_metrics`` splits it into training rows, evaluation rows and unreadable lines (a row whose
step is not a whole number ≥ 0, such as ``1e400`` or ``NaN``, is one of them, with one warning);
``trim_metrics`` makes it continue cleanly from the checkpoint a run resumes from. Both read the file a
line at a time: a line longer than ``MAX_ROW_BYTES`` (a row is a few hundred bytes) is an unreadable one,
skipped without being held in memory.
"""
import json
import os
import warnings
from pathlib import Path
from typing import NamedTuple

from gankit.store.files import disk_full, is_disk_full, loads_json, write_text_atomic
from gankit.store.state import MAX_COUNT, whole


MAX_ROW_BYTES = 2**20


def _lines(path: Path):
    """The lines of a metrics.jsonl (with their line end, when they have one); a line longer than
    ``MAX_ROW_BYTES`` is yielded as None, read past in pieces."""
    with open(path, "rb") as f:
        while line := f.readline(MAX_ROW_BYTES + 1):
            if len(line) > MAX_ROW_BYTES and not line.endswith(b"\n"):
                while (more := f.readline(MAX_ROW_BYTES)) and not more.endswith(b"\n"):
                    pass
                yield None
            else:
                yield line.decode("utf-8", errors="replace")


def trim_metrics(path: str | Path, last_step: int) -> int:
    """Make a metrics.jsonl continue cleanly from checkpoint ``last_step``: drop the rows of later
    steps (a resumed run logs them again) and a last line cut short by a crash. Rewritten
    atomically, only when something changes; returns the number of lines dropped."""
    path = Path(path)
    if not path.is_file():
        return 0
    lines = list(_lines(path))
    kept = [line for i, line in enumerate(lines)
            if line is not None and _keeps(line, last_step, last=i == len(lines) - 1)]
    if len(kept) == len(lines) and (not lines or lines[-1].endswith("\n")):
        return 0
    write_text_atomic(path, "".join(line if line.endswith("\n") else line + "\n" for line in kept))
    return len(lines) - len(kept)


def open_for_rows(path: str | Path):
    """metrics.jsonl opened for ``append_row`` (binary, unbuffered: a row is on disk once appended)."""
    return open(path, "ab", buffering=0)


def append_row(fh, path: str | Path, row: dict) -> None:
    """Append one row to metrics.jsonl (``fh`` from ``open_for_rows``). When the disk is full the file is
    cut back to its last whole row and ``DiskFull`` names it: no half row is left."""
    data = (json.dumps(row) + "\n").encode("utf-8")
    end = os.fstat(fh.fileno()).st_size
    try:
        view = memoryview(data)
        while view:
            view = view[fh.write(view):]
    except OSError as e:
        if not is_disk_full(e):
            raise
        os.ftruncate(fh.fileno(), end)
        raise disk_full(path, e, len(data)) from None


def _keeps(line: str, last_step: int, last: bool) -> bool:
    try:
        row = loads_json(line)
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
# An eval row's {metric: what it is}, e.g. {"fd": "fd (lenet_mnist, 10k vs 10k)"}: the feature space and the
# generated vs real counts. Rows written before runs logged it have none; the metric then reads as its name.
LABELS_KEY = "labels"
# An eval row's {metric: {"mean", "sd", "n", "splits"}}: the real-vs-real floor (n vs n real images, over splits).
FLOOR_KEY = "floor"


def metric_label(evals: list[dict], metric: str) -> str:
    """What ``metric`` is, as the newest eval row that logged it says (its bare name when none does)."""
    for row in reversed(evals):
        labels = row.get(LABELS_KEY)
        if isinstance(labels, dict) and isinstance(labels.get(metric), str) and EVAL_PREFIX + metric in row:
            return labels[metric]
    return metric


def read_metrics(path: str | Path) -> MetricsLog:
    """Training rows, evaluation rows and the number of unreadable lines of a metrics.jsonl
    (a missing file has none of them). Rows whose step is not a whole number ≥ 0 are skipped
    with one warning naming the first."""
    path = Path(path)
    train, evals, bad, wrong = [], [], 0, []
    if not path.is_file():
        return MetricsLog(train, evals, bad)
    for line in _lines(path):
        if line is not None and not line.strip():
            continue
        try:
            row = loads_json(line if line is not None else "")
        except json.JSONDecodeError:  # a line cut short by a crash, or too long
            bad += 1
            continue
        if not isinstance(row, dict) or "step" not in row:
            bad += 1
            continue
        if not whole(row["step"]):
            bad += 1
            wrong.append(row["step"])
            continue
        if any(k.startswith(EVAL_PREFIX) for k in row):
            evals.append(row)
        if any(k in row for k in TRAIN_KEYS):
            train.append(row)
    if wrong:
        warnings.warn(f"{path}: skipped {len(wrong)} row(s) whose \"step\" is not a whole number from 0 to "
                      f"{MAX_COUNT} (first: {wrong[0]!r}); the file was edited or damaged.", RuntimeWarning, stacklevel=2)
    return MetricsLog(train, evals, bad)


def metric_floor(evals: list[dict], metric: str) -> dict | None:
    """The real-vs-real floor of ``metric`` the newest eval row that logged both gives (None when none does)."""
    for row in reversed(evals):
        floors = row.get(FLOOR_KEY)
        if isinstance(floors, dict) and isinstance(floors.get(metric), dict) and EVAL_PREFIX + metric in row:
            f = floors[metric]
            if isinstance(f.get("mean"), (int, float)) and isinstance(f.get("sd"), (int, float, type(None))):
                return f
    return None
