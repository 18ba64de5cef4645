"""Is a checkpoint intact? ``problem(ckpt)`` says why one cannot be loaded (None when it can), reading
only headers, JSON and the pickle-format files with ``weights_only=True``; ``newest_intact`` finds the
newest one that can; a damaged one is moved aside (``move_aside``: renamed, never deleted).
"""
import json
import os
import pickle
from pathlib import Path

from accelerate.utils import load as safe_load
from safetensors import safe_open

from gankit.errors import GankitError, first_line
from gankit.runs.files import CHECKPOINTS_DIR, MODEL_FILE, STATE_FILE, STEP_PREFIX as PREFIX

DAMAGED = "damaged-"  # the prefix of a damaged checkpoint moved aside
PICKLED = (".bin", ".pkl", ".pt", ".pth")  # read with torch.load(weights_only=True)
UNSAFE_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, OSError, KeyError, ValueError,
                 AttributeError, TypeError, ImportError, IndexError)


def step_dirs(run_dir: Path) -> list[Path]:
    """Every published step checkpoint folder, complete or not, oldest first."""
    ck = Path(run_dir) / CHECKPOINTS_DIR
    if not ck.is_dir():
        return []
    return sorted((p for p in ck.iterdir() if p.name.startswith(PREFIX) and p.is_dir()), key=lambda p: p.name)


def problem(ckpt: Path, fingerprint: str | None = None, *, pickles: bool = True) -> str | None:
    """Why checkpoint ``ckpt`` cannot be loaded, or None when it is intact.

    Checked: ``state.json`` (present, a mapping, its step that of the folder, written by the
    recipe with ``fingerprint`` when both say), every safetensors file's header against its size,
    and (``pickles``) every pickle-format file loaded with ``weights_only=True``."""
    ckpt = Path(ckpt)
    if not (ckpt / STATE_FILE).is_file():
        return f"{STATE_FILE} is missing"
    try:
        state = json.loads((ckpt / STATE_FILE).read_text())
    except (OSError, ValueError) as e:  # ValueError: bad JSON or UTF-8
        return f"{STATE_FILE} is unreadable ({type(e).__name__}: {first_line(e)[:200]})"
    if not isinstance(state, dict):
        return f"{STATE_FILE} holds no mapping"
    step = ckpt.name.removeprefix(PREFIX)
    if ckpt.name.startswith(PREFIX) and step.isdigit() and state.get("step") != int(step):
        return f"{STATE_FILE} says step {state.get('step')!r}, not {int(step)}"
    if fingerprint and state.get("recipe_sha256") not in (None, fingerprint):
        return "it was written by another recipe (its recipe fingerprint differs from this run's recipe.yaml)"
    if not (ckpt / MODEL_FILE).is_file():
        return f"{MODEL_FILE} is missing"
    for f in sorted(ckpt.iterdir()):
        why = _file_problem(f, pickles)
        if why:
            return f"{f.name} {why}"
    return None


def _file_problem(f: Path, pickles: bool) -> str | None:
    if f.suffix == ".safetensors":
        try:
            with safe_open(str(f), "pt"):
                return None
        except Exception as e:  # noqa: BLE001 - safetensors raises its own error type, and OSError
            return f"is damaged ({first_line(e)})"
    if pickles and f.suffix in PICKLED:
        try:
            safe_load(f, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:  # garbage and pickled objects look alike to the safe unpickler
            return "is damaged or holds more than plain tensors: gankit refused to load it, as it never unpickles code"
        except UNSAFE_ERRORS as e:
            return f"is damaged ({type(e).__name__}: {first_line(e)[:200]})"
    return None


def newest_intact(run_dir: Path, fingerprint: str | None = None, *, pickles: bool = True
                  ) -> tuple[Path | None, list[tuple[Path, str]]]:
    """(the newest intact step checkpoint or None, [(each newer damaged one, why)])."""
    damaged = []
    for c in reversed(step_dirs(run_dir)):
        why = problem(c, fingerprint, pickles=pickles)
        if why is None:
            return c, damaged
        damaged.append((c, why))
    return None, damaged


def move_aside(ckpt: Path) -> Path:
    """Rename a damaged checkpoint to ``damaged-<name>`` (``-2``, ``-3``... when taken) beside it."""
    target, n = ckpt.with_name(DAMAGED + ckpt.name), 1
    while target.exists():
        n += 1
        target = ckpt.with_name(f"{DAMAGED}{ckpt.name}-{n}")
    os.replace(ckpt, target)
    return target


def damaged_note(damaged: list[tuple[Path, str]], chosen: Path, moved: list[Path] | None = None) -> str:
    """The warning for damaged checkpoints skipped in favour of ``chosen``."""
    parts = []
    for i, (c, why) in enumerate(damaged):
        where = f" (moved aside to {moved[i].name})" if moved else ""
        parts.append(f"{c} is damaged: {why}{where}")
    return f"{'; '.join(parts)}. Using the newest intact checkpoint instead: {chosen}."


def none_intact_error(run_dir: Path, damaged: list[tuple[Path, str]], flag: str) -> GankitError:
    checked = "; ".join(f"{c.name}: {why}" for c, why in damaged) or "no checkpoint folders"
    return GankitError(
        f"{flag}: no intact checkpoint in {Path(run_dir) / CHECKPOINTS_DIR} (checked, newest first: {checked}). "
        f"Nothing was moved or deleted. Restore a checkpoint from a backup, or start a new run "
        f"(gankit train RECIPE --out {run_dir} --overwrite)."
    )
