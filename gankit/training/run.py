"""One training run: choose and guard the run directory, store the recipe, check, train.

The recipe comes validated (``gankit.config.validate.ValidRecipe``) or is validated here, once.

Drawing the finished run (curves.png, report.html) is its callers' part: ``gankit train`` and
``gankit.train`` (``gankit.commands.train``).

Resuming (``--resume RUN_DIR``) continues from the latest complete checkpoint with the recipe
stored in the run; a recipe given again may differ from it only in ``RESUME_SAFE_KEYS``.
The stored recipe is rewritten (atomically) with those changes, so a later plain
``gankit train --resume RUN_DIR`` continues with them. Plugin files and data paths are stored
absolute (``gankit.config.locations``), so a run resumes from any working folder, also after it moved.
Trackers write into the run directory (``gankit.training.trackers``).
"""
import contextlib
import os
import shutil
import time
from pathlib import Path

import torch
from accelerate import PartialState
from accelerate.utils import broadcast_object_list
from omegaconf import DictConfig, OmegaConf

from gankit.config import locations, plugin_trust, validate
from gankit.config import recipe as recipe_mod
from gankit.config.validate import ValidRecipe, validated
from gankit.errors import GankitError
from gankit.store import intact
from gankit.store.checkpoints import clean_temporaries
from gankit.store.files import RECIPE_FILE, RUN_OUTPUTS, check_path, write_text_atomic
from gankit.store.lock import RunLock, is_lock_file
from gankit.training import trackers
from gankit.training.accel import process_group_kwargs
from gankit.training.opening import announce
from gankit.training.preflight import preflight
from gankit.training.trainer import Trainer


def train(recipe: ValidRecipe | DictConfig | None, out: str | Path | None = None, *, resume: str | Path | None = None,
          overwrite: bool = False, recipe_dir=None, name: str = "run", trust_plugins: bool = False) -> dict:
    """Train a recipe; returns the last logged row (losses, images/s) plus ``run_dir``.

    ``recipe``: a ``ValidRecipe`` (``gankit.config.validate.load``), or a recipe loaded in Python,
    checked here once (``recipe_dir``: where its relative plugin files are, default the folder it was
    loaded from: ``gankit.config.recipe.folder_of``); ``None`` with ``resume``: the recipe stored in the run, checked once when it is read, its plugins loaded as
    ``gankit.config.plugin_trust.vet`` allows (``trust_plugins``: the user's opt-in)."""
    valid = None if recipe is None else validated(recipe, recipe_dir)
    if resume is not None:
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise GankitError(f"--out: give either --out DIR (a new run) or --resume RUN_DIR, not both "
                              f"({out} vs {resume}).")
        run_dir = check_path(resume, "--resume")
        if not run_dir.is_dir():
            raise GankitError(f"--resume: {run_dir} does not exist. Give the folder of an earlier run (it holds "
                              f"{RECIPE_FILE}).")
    else:
        run_dir = _pick_run_dir(valid.cfg, out, overwrite, name)
    with _writer(run_dir, "resume" if resume is not None else "train"):
        stored = None
        if resume is not None:
            valid, stored = _resume_recipe(run_dir, valid, trust_plugins)
        elif overwrite and _is_main():
            _clear(run_dir)
        return _train(valid, run_dir, stored)


def _train(valid: ValidRecipe, run_dir: Path, stored: DictConfig | None) -> dict:
    """Train ``valid`` into ``run_dir``; ``stored``: a resumed run's stored recipe (None for a new run)."""
    cfg, resuming = valid.cfg, stored is not None
    # What the run stores: the recipe, its paths absolute; a resumed run's as it stored it, with the
    # resume-safe changes (a run written with relative paths keeps them, and its checkpoints' fingerprint).
    keep = cfg if stored is None else _with_resume_safe_keys(stored, cfg)
    trackers.check(cfg.trackers)
    # The Accelerator is made without trackers (``make_accelerator``): they are attached below, with the
    # run directory as their folder (accelerate refuses TensorBoard before it knows one).
    trainer = Trainer(valid, run_dir, resume=resuming, fingerprint=recipe_mod.fingerprint(keep))
    preflight(trainer.parts, cfg)  # G's output fits the data and D: fail now, not after the first epoch
    acc = trainer.acc
    if acc.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        clean_temporaries(run_dir)
        write_text_atomic(run_dir / RECIPE_FILE, stored_text(keep))
    announce(trainer, cfg.trackers, trainer.state.step if resuming else None)  # and machine.json
    if cfg.trackers:
        trackers.start(acc, cfg, run_dir, resumed_at=trainer.state.step if resuming else None)
    acc.wait_for_everyone()
    summary = trainer.fit()
    # 130 = 128 + SIGINT, 143 = 128 + SIGTERM (the shell's convention for a run ended by a signal).
    code = {"SIGINT": 130, "SIGTERM": 143}.get(summary.get("interrupted"), 0)
    return {**summary, "run_dir": str(run_dir), "exit_code": code}


def stored_text(cfg: DictConfig) -> str:
    """The recipe as a run stores it (``recipe.yaml``), and as ``gankit check --print`` shows it."""
    return OmegaConf.to_yaml(cfg)


def _pick_run_dir(cfg, out, overwrite: bool, name: str) -> Path:
    if out is None:
        # Form the process group now (with the trainer's device choice): before it exists the
        # broadcast does nothing, and two processes could pick folders a second apart.
        PartialState(cpu=cfg.trainer.cpu or not torch.cuda.is_available(), **process_group_kwargs(cfg))  # ddp.timeout_s
        stamp = [time.strftime("%Y%m%d-%H%M%S")]
        broadcast_object_list(stamp)  # every process must agree on the folder (a no-op for one process)
        return check_path(Path(cfg.output.root) / f"{name}-{stamp[0]}", "output.root")
    run_dir = check_path(out, "--out")
    if run_dir.exists() and not run_dir.is_dir():
        raise GankitError(f"--out: {run_dir} exists and is a file, not a folder. Choose another --out.")
    if run_dir.exists() and any(not is_lock_file(p.name) for p in run_dir.iterdir()) and not overwrite:
        raise GankitError(
            f"--out: {run_dir} already exists and is not empty. Resume it with --resume {run_dir}, "
            f"choose another --out, or pass --overwrite to train into it anyway (what the old run wrote is "
            f"replaced; other files stay)."
        )
    return run_dir


def _is_main() -> bool:
    """Whether this is the main process (RANK 0, as accelerate launch and torchrun set it; 0 alone)."""
    return int(os.environ.get("RANK", "0")) == 0


@contextlib.contextmanager
def _writer(run_dir: Path, what: str):
    """Hold the run directory's writer lock (``gankit.store.lock``) on the main process; a folder made
    here for a run that wrote nothing is removed again. The other processes do not wait for it: they
    join the main one when the Trainer forms the process group."""
    if not _is_main():
        yield
        return
    made = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with RunLock(run_dir, what):
            yield
    finally:
        if made and not any(run_dir.iterdir()):
            run_dir.rmdir()


def _clear(run_dir: Path) -> None:
    """--overwrite: remove what an earlier run wrote (``RUN_OUTPUTS``), and nothing else."""
    for name in RUN_OUTPUTS:
        p = run_dir / name
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)


def _resume_recipe(run_dir: Path, valid: ValidRecipe | None,
                   trust_plugins: bool = False) -> tuple[ValidRecipe, DictConfig]:
    """The recipe a resumed run continues with: ``valid`` when it changes only ``RESUME_SAFE_KEYS`` of
    the stored one, or (``None``) the stored recipe, validated here; and the stored one as it is."""
    stored_path = run_dir / RECIPE_FILE
    if not stored_path.is_file():
        raise GankitError(f"--resume: {run_dir} is not a gankit run (no {RECIPE_FILE}). Give the run directory.")
    clean_temporaries(run_dir)  # puts back a checkpoint parked by a crash during publishing
    if not intact.step_dirs(run_dir):  # damaged ones are the trainer's to sort out (Checkpointer.resume_point)
        raise GankitError(f"--resume: {run_dir} has no complete checkpoint yet; start a new run instead "
                          f"(gankit train RECIPE --out {run_dir} --overwrite).")
    stored = _stored(stored_path, recipe_mod.load)
    if valid is None:
        source = plugin_trust.Source(run_dir, plugin_trust.RUN, trust_plugins)
        return _stored(stored_path, lambda path: validate.load(path, source=source)), stored
    # compared with its paths absolute, as the recipe given has them (a run written with relative ones)
    changed = recipe_mod.diff_keys(recipe_mod.to_dict(locations.absolute(stored)), recipe_mod.to_dict(valid.cfg))
    unsafe = [k for k in changed if not recipe_mod.is_resume_safe(k)]
    if unsafe:
        raise GankitError(
            f"--resume: the recipe differs from the one stored in {stored_path} at {', '.join(unsafe)}; "
            f"resuming with those changes would not continue the same run. Only these keys may change on "
            f"resume: {', '.join(recipe_mod.RESUME_SAFE_KEYS)}. Start a new run to change the others."
        )
    return valid, stored


def _with_resume_safe_keys(stored: DictConfig, cfg: DictConfig) -> DictConfig:
    """A run's stored recipe with the ``RESUME_SAFE_KEYS`` of the recipe it resumes with."""
    out = stored.copy()
    for key in recipe_mod.RESUME_SAFE_KEYS:
        OmegaConf.update(out, key, OmegaConf.select(cfg, key), merge=False)
    return out


def _stored(path: Path, read):
    """``read(path)`` of a run's stored recipe; its problems said to be the stored recipe's."""
    try:
        return read(path)
    except GankitError as e:
        raise GankitError(f"--resume: the recipe stored in {path} is not valid any more: {e}") from None
