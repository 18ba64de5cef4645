"""One training run: choose and guard the run directory, store the recipe, check, train.

The recipe comes validated (``gankit.config.validate.ValidRecipe``) or is validated here, once.

Drawing the finished run (curves.png, report.html) is its callers' part: ``gankit train`` and
``gankit.train`` (``gankit.commands.train``).

Resuming (``--resume RUN_DIR``) continues from the latest complete checkpoint with the recipe
stored in the run; a recipe given again may differ from it only in ``RESUME_SAFE_KEYS``.
The stored recipe is rewritten (atomically) with those changes, so a later plain
``gankit train --resume RUN_DIR`` continues with them. Plugin files are stored as absolute
paths, so a run resumes from any working directory.
Trackers write into the run directory (``gankit.training.trackers``).
"""
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch
from accelerate import PartialState
from accelerate.utils import broadcast_object_list
from omegaconf import DictConfig, OmegaConf

from gankit.config import recipe as recipe_mod
from gankit.config import validate
from gankit.config.validate import ValidRecipe, validated
from gankit.errors import GankitError
from gankit.store import intact
from gankit.store.checkpoints import clean_temporaries
from gankit.store.files import CHECKPOINTS_DIR, METRICS_FILE, RECIPE_FILE, SAMPLES_DIR, write_text_atomic
from gankit.training import trackers
from gankit.training.accel import process_group_kwargs
from gankit.training.opening import announce
from gankit.training.preflight import preflight
from gankit.training.trainer import Trainer


def train(recipe: ValidRecipe | DictConfig | None, out: str | Path | None = None, *, resume: str | Path | None = None,
          overwrite: bool = False, recipe_dir=None, name: str = "run") -> dict:
    """Train a recipe; returns the last logged row (losses, images/s) plus ``run_dir``.

    ``recipe``: a ``ValidRecipe`` (``gankit.config.validate.load``), or a recipe loaded in Python,
    checked here once (``recipe_dir``: where its relative plugin files are); ``None`` with
    ``resume``: the recipe stored in the run, checked once when it is read."""
    valid = None if recipe is None else validated(recipe, recipe_dir)
    if resume is not None:
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise GankitError(f"--out: give either --out DIR (a new run) or --resume RUN_DIR, not both "
                              f"({out} vs {resume}).")
        run_dir = Path(resume)
        valid = _resume_recipe(run_dir, valid)
    else:
        run_dir = _pick_run_dir(valid.cfg, out, overwrite, name)
    cfg = valid.cfg
    trackers.check(cfg.trackers)
    # The Accelerator is made without trackers (accelerate refuses TensorBoard before it knows a
    # logging folder, and the run directory is that folder); they are attached below.
    trainer = Trainer(replace(valid, cfg=trackers.without(cfg)), run_dir, resume=resume is not None)
    preflight(trainer.parts, cfg)  # G's output fits the data and D: fail now, not after the first epoch
    acc = trainer.acc
    if acc.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        clean_temporaries(run_dir)
        write_text_atomic(run_dir / RECIPE_FILE, stored_text(cfg))
    announce(trainer, cfg.trackers, trainer.state.step if resume is not None else None)  # and machine.json
    if cfg.trackers:
        trackers.start(acc, cfg, run_dir, resumed_at=trainer.state.step if resume is not None else None)
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
        return Path(cfg.output.root) / f"{name}-{stamp[0]}"
    run_dir = Path(out)
    if run_dir.exists() and not run_dir.is_dir():
        raise GankitError(f"--out: {run_dir} exists and is a file, not a folder. Choose another --out.")
    if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        raise GankitError(
            f"--out: {run_dir} already exists and is not empty. Resume it with --resume {run_dir}, "
            f"choose another --out, or pass --overwrite to train into it anyway (old checkpoints are replaced)."
        )
    if overwrite and run_dir.is_dir():
        for sub in (CHECKPOINTS_DIR, SAMPLES_DIR, METRICS_FILE):
            p = run_dir / sub
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    return run_dir


def _resume_recipe(run_dir: Path, valid: ValidRecipe | None) -> ValidRecipe:
    """The recipe a resumed run continues with: ``valid`` when it changes only ``RESUME_SAFE_KEYS`` of
    the stored one, or (``None``) the stored recipe, validated here."""
    stored_path = run_dir / RECIPE_FILE
    if not run_dir.is_dir():
        raise GankitError(f"--resume: {run_dir} does not exist. Give the folder of an earlier run (it holds {RECIPE_FILE}).")
    if not stored_path.is_file():
        raise GankitError(f"--resume: {run_dir} is not a gankit run (no {RECIPE_FILE}). Give the run directory.")
    clean_temporaries(run_dir)  # puts back a checkpoint parked by a crash during publishing
    if not intact.step_dirs(run_dir):  # damaged ones are the trainer's to sort out (Checkpointer.resume_point)
        raise GankitError(f"--resume: {run_dir} has no complete checkpoint yet; start a new run instead "
                          f"(gankit train RECIPE --out {run_dir} --overwrite).")
    if valid is None:
        return _stored(stored_path, validate.load)
    stored = _stored(stored_path, recipe_mod.load)  # only compared: the recipe given was validated
    changed = recipe_mod.diff_keys(recipe_mod.to_dict(stored), recipe_mod.to_dict(valid.cfg))
    unsafe = [k for k in changed if not recipe_mod.is_resume_safe(k)]
    if unsafe:
        raise GankitError(
            f"--resume: the recipe differs from the one stored in {stored_path} at {', '.join(unsafe)}; "
            f"resuming with those changes would not continue the same run. Only these keys may change on "
            f"resume: {', '.join(recipe_mod.RESUME_SAFE_KEYS)}. Start a new run to change the others."
        )
    return valid


def _stored(path: Path, read):
    """``read(path)`` of a run's stored recipe; its problems said to be the stored recipe's."""
    try:
        return read(path)
    except GankitError as e:
        raise GankitError(f"--resume: the recipe stored in {path} is not valid any more: {e}") from None
