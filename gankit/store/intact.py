"""Is a checkpoint intact? ``problem(ckpt)`` says why one cannot be loaded (None when it can), reading
only headers, JSON and the pickle-format files with ``weights_only=True``; ``newest_intact`` finds the
newest one that can; a damaged one is moved aside (``move_aside``: renamed, never deleted).

``choose`` is the one choice of the checkpoint a run continues from or is read from: the newest
intact one, with a note naming each damaged newer one (moved aside when resuming, left in place when
only reading), or the error listing what was checked. ``verify`` refuses, before anything is loaded,
a checkpoint holding anything but plain tensors and numbers.
"""
import os
import pickle
from pathlib import Path

from accelerate.utils import load as safe_load
from safetensors import safe_open

from gankit.errors import GankitError, first_line
from gankit.store import state as state_file
from gankit.store.files import CHECKPOINTS_DIR, MODEL_FILE, STATE_FILE, STEP_PREFIX as PREFIX

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
        state = state_file.load_json(ckpt)
    except (OSError, ValueError) as e:  # ValueError: bad JSON or UTF-8
        return f"{STATE_FILE} is unreadable ({type(e).__name__}: {first_line(e)[:200]})"
    if not isinstance(state, dict):
        return f"{STATE_FILE} holds no mapping"
    why = state_file.field_problem(state)
    if why:
        return why
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


def choose(run_dir: Path, fingerprint: str | None, flag: str, *, resuming: bool) -> tuple[Path, str | None]:
    """(the newest intact step checkpoint of a run, the note naming each damaged newer one or None).

    ``resuming``: every file is checked, the pickle-format ones too (they are about to be loaded), and
    each damaged newer checkpoint is moved aside; otherwise (reading a generator: safetensors and
    JSON only) the pickle-format files are not opened and the damaged ones stay where they are.
    With none intact, raises the error that lists what was checked (nothing moved)."""
    chosen, damaged = newest_intact(run_dir, fingerprint, pickles=resuming)
    if chosen is None:
        raise none_intact_error(run_dir, damaged, flag)
    if not damaged:
        return chosen, None
    if resuming:
        moved = [move_aside(c) for c, _ in damaged]
        return chosen, f"{flag}: {damaged_note(damaged, chosen, moved)}"
    return chosen, (f"{flag}: {damaged_note(damaged, chosen)} (Resuming the run with `gankit train --resume` "
                    f"moves damaged checkpoints aside.)")


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
