"""The accelerate-bound side of checkpoints: ``Checkpointer`` is what the trainer calls.

It decides when a save is due; every process saves its share as accelerate requires
(``save_state``), the main process writes the EMA weights and ``state.json`` and publishes the
folder; loading restores the training state after the checks. The run directory itself (layout,
publishing, rotation, best, integrity, ``state.json``) belongs to ``gankit.store``.

A checkpoint damaged after it was written (cut short, a file replaced or missing, or one written
by another recipe: ``gankit.store.intact``) is never loaded: resuming takes the newest intact
one and moves each damaged newer one aside to ``checkpoints/damaged-step-…`` (never deleting it),
with a warning naming it; with none intact it stops, listing what was checked (``resume_point``).
"""
import shutil
import warnings
from pathlib import Path

from accelerate.utils import broadcast_object_list

from gankit.errors import GankitError
from gankit.store import checkpoints, intact
from gankit.store import state as state_file
from gankit.store.files import CHECKPOINTS_DIR, EMA_FILE
from gankit.store.state import CheckpointState
from gankit.store.weights import check_weights


class Checkpointer:
    """A run's checkpoints: due every ``every`` steps (and at the end), saved by every process as
    accelerate requires, published by the main one; loaded after verification."""

    def __init__(self, acc, run_dir: Path, every: int, keep: int):
        self.acc, self.run_dir, self.every, self.keep = acc, Path(run_dir), every, keep

    def due(self, step: int, last: bool) -> bool:
        return step % self.every == 0 or last

    def latest(self) -> Path | None:
        return checkpoints.latest(self.run_dir)

    def save(self, step: int, state: CheckpointState, ema=None) -> Path | None:
        """Write checkpoint ``step`` (training state, ``state`` as state.json, the EMA weights); its path on the
        main process."""
        acc, tmp = self.acc, checkpoints.temp_dir(self.run_dir, step)
        if acc.is_main_process:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            if tmp.exists():
                shutil.rmtree(tmp)
        acc.wait_for_everyone()
        final = None
        with checkpoints.disk_errors(tmp):
            acc.save_state(str(tmp), safe_serialization=True)
            if acc.is_main_process:
                if ema is not None:
                    checkpoints.write_ema(tmp, ema.state_dict())
                state.write(tmp)
                final = checkpoints.publish(tmp, step, self.keep)
        acc.wait_for_everyone()
        return final

    def resume_point(self, fingerprint: str | None = None) -> Path:
        """The newest intact checkpoint, the same on every process. The main process checks them
        (``intact.choose``), moves the damaged newer ones aside and warns; with none intact every
        process raises the error that lists what was checked."""
        decision = [None]
        if self.acc.is_main_process:
            try:
                chosen, note = intact.choose(self.run_dir, fingerprint, "--resume", resuming=True)
            except GankitError as e:
                decision[0] = ("error", str(e))
            else:
                if note:
                    warnings.warn(note, RuntimeWarning, stacklevel=2)
                decision[0] = ("ok", chosen.name)
        broadcast_object_list(decision)
        kind, value = decision[0]
        if kind == "error":
            raise GankitError(value)
        return self.run_dir / CHECKPOINTS_DIR / value

    def load(self, path: Path | None, ema=None) -> CheckpointState:
        """Restore the training state of checkpoint ``path`` (and the EMA weights); returns its state.json.

        ``path`` comes from ``resume_point``, which has checked every file (``intact.problem``: nothing
        but plain tensors in the pickle-format ones) on the main process; ``intact.verify`` checks them
        here on the others, which may not share its disk."""
        if path is None:
            raise GankitError(f"--resume: {self.run_dir} has no complete checkpoint to resume from.")
        state = state_file.read(path)
        if not self.acc.is_main_process:
            intact.verify(path)
        self.check_weights(path, ema)
        try:
            self.acc.load_state(str(path))
        except intact.UNSAFE_ERRORS as e:
            raise intact.load_error(path, e) from None
        if ema is not None:
            weights = checkpoints.read_ema(path, self.acc.device)
            if weights is None:
                raise GankitError(f"ema.enabled: the run now keeps an EMA of G, but checkpoint {path} has none "
                                  f"({EMA_FILE}). Resume with ema.enabled=false, or start a new run.")
            ema.load_state_dict(weights)
        return state

    def check_weights(self, path: Path, ema=None) -> None:
        """Refuse checkpoint ``path`` when a model file's tensors do not fit this run's models (each one
        named with its shapes and dtype), before anything is loaded."""
        fix = (f"It was written by another recipe; move it out of {Path(path).parent} to resume from an older "
               f"one, or start a new run.")
        for i, model in enumerate(self.acc._models):  # accelerate's own list: the names its files are saved under
            f = Path(path) / f"model{f'_{i}' if i else ''}.safetensors"
            if f.is_file():
                check_weights(model.state_dict(), f, f"checkpoint {path}", fix)
        if ema is not None and (Path(path) / EMA_FILE).is_file():
            check_weights(ema.state_dict(), Path(path) / EMA_FILE, f"checkpoint {path}", fix)

    def publish_best(self, path: Path | None, record: dict | None) -> None:
        if record is not None and path is not None and self.acc.is_main_process:
            checkpoints.publish_best(self.run_dir, path, record)

    def republish_best(self, path: Path, record: dict) -> None:
        """Publish checkpoint ``path`` as best unless ``best`` already holds it (a resume after a
        crash between saving the best checkpoint and publishing it)."""
        if checkpoints.best_source(self.run_dir) != Path(path).name:
            self.publish_best(path, record)
        self.acc.wait_for_everyone()
