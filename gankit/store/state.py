"""A checkpoint's ``state.json``: one schema, read and written here only.

``TrainState`` holds the training loop's counters (what a resumed run continues from);
``CheckpointState`` adds what the run that wrote the checkpoint was (its recipe fingerprint, the
data's shape, its number of processes) and the state of the parts that keep one. ``read`` tolerates
the fields older checkpoints lack (they take the defaults) and ignores unknown ones, and refuses a
value of the wrong kind or range (``field_problem``: a step of ``1e400``, a shape of floats); ``write``
is atomic. ``load_json`` is the raw file, for the integrity checks (``gankit.store.intact``).
"""
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from gankit.errors import GankitError
from gankit.store.files import STATE_FILE, read_json, write_json_atomic


@dataclass
class TrainState:
    step: int = 0  # completed iterations (generator updates)
    batch: int = 0  # global batches consumed
    skipped: int = 0  # non-finite steps skipped (on_nonfinite: skip)
    best: float | None = None  # best value of eval.best so far
    best_step: int | None = None  # the step that scored it (published as checkpoints/best)


@dataclass
class CheckpointState(TrainState):
    recipe_sha256: str | None = None  # the recipe's fingerprint: a checkpoint of another recipe is never resumed from
    num_processes: int | None = None  # processes of the run that wrote it
    img_shape: list[int] | None = None  # (C, H, W) of the data (absent from early checkpoints)
    num_classes: int | None = None  # classes of the data (0: none)
    parts: dict = field(default_factory=dict)  # the state of each part that keeps one (e.g. "augment")

    def counters(self) -> TrainState:
        """The training loop's counters of this checkpoint."""
        return TrainState(**{f.name: getattr(self, f.name) for f in fields(TrainState)})

    def write(self, ckpt: str | Path) -> Path:
        """Write ``ckpt/state.json`` atomically; returns its path."""
        path = Path(ckpt) / STATE_FILE
        write_json_atomic(path, asdict(self))
        return path


def load_json(ckpt: str | Path):
    """The parsed ``state.json`` of ``ckpt``, whatever JSON it holds; raises OSError or ValueError
    (bad JSON or UTF-8) as reading it fails (a device, a pipe or a huge file is not read: ``files.read_json``)."""
    return read_json(Path(ckpt) / STATE_FILE)


MAX_COUNT = 2**53  # steps and batches: whole numbers a float holds exactly


def whole(v, low: int = 0, high: int = MAX_COUNT) -> bool:
    """Whether a number read from a run file is a whole number in low..high (not a bool, float, inf or NaN)."""
    return type(v) is int and low <= v <= high


SHAPE_RULE = "three whole numbers (C, H, W) from 1 to 65536"


def is_image_shape(v) -> bool:
    """Whether an ``img_shape`` read from a run file is [C, H, W] of whole numbers from 1 to 65536."""
    return isinstance(v, list) and len(v) == 3 and all(whole(x, 1, 2**16) for x in v)


_CHECKS = {  # field: (is the value right, what it must be); None is allowed for every field but the counters
    "step": (whole, "a whole number ≥ 0"),
    "batch": (whole, "a whole number ≥ 0"),
    "skipped": (whole, "a whole number ≥ 0"),
    "best": (lambda v: type(v) in (int, float), "a number"),  # NaN when the metric was: it is only compared
    "best_step": (whole, "a whole number ≥ 0"),
    "recipe_sha256": (lambda v: isinstance(v, str), "a string"),
    "num_processes": (lambda v: whole(v, 1, 2**20), "a whole number ≥ 1"),
    "img_shape": (is_image_shape, SHAPE_RULE),
    "num_classes": (lambda v: whole(v, 0, 2**31), "a whole number ≥ 0"),
    "parts": (lambda v: isinstance(v, dict), "a mapping"),
}
_COUNTERS = ("step", "batch", "skipped")


def field_problem(state: dict) -> str | None:
    """What is wrong with a state.json mapping's known fields (the first one), or None."""
    for name, (ok, what) in _CHECKS.items():
        if name not in state or (state[name] is None and name not in _COUNTERS):
            continue
        if not ok(state[name]):
            return f"{STATE_FILE} says {name} {str(state[name])[:50]!r}, which must be {what}"
    return None


def from_mapping(state: dict) -> CheckpointState:
    """The fields of a ``state.json`` mapping; absent ones take their defaults, unknown ones are ignored."""
    return CheckpointState(**{f.name: state[f.name] for f in fields(CheckpointState) if f.name in state})


def read(ckpt: str | Path) -> CheckpointState:
    """The state of checkpoint ``ckpt``; a missing, unreadable or malformed ``state.json`` raises a GankitError."""
    try:
        state = load_json(ckpt)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GankitError(f"checkpoint {ckpt}: cannot read {STATE_FILE} ({e}). The checkpoint is damaged; use another "
                          f"one (resuming the run moves it aside and continues from an older one).") from None
    if not isinstance(state, dict):
        raise GankitError(f"checkpoint {ckpt}: {STATE_FILE} holds no mapping. The checkpoint is damaged; "
                          f"use another one (resuming the run moves it aside and continues from an older one).")
    why = field_problem(state)
    if why:
        raise GankitError(f"checkpoint {ckpt}: {why}. The checkpoint is damaged or was edited; use another one "
                          f"(resuming the run moves it aside and continues from an older one).")
    return from_mapping(state)
