"""One training run: choose and guard the run directory, store the recipe, train."""
import time
from pathlib import Path

from omegaconf import DictConfig

from .. import recipe as recipe_mod
from ..errors import GankitError
from . import checkpoint as ckpt

RECIPE_FILE = "recipe.yaml"


def train(cfg: DictConfig, out: str | Path | None = None, *, resume: str | Path | None = None,
          overwrite: bool = False, recipe_dir=None, name: str = "run") -> dict:
    """Train a recipe; returns the last logged row (losses, images/s) plus ``run_dir``."""
    from .trainer import Trainer

    if resume is not None:
        run_dir = Path(resume)
        cfg = _resume_recipe(run_dir, cfg)
    else:
        run_dir = _pick_run_dir(cfg, out, overwrite, name)
    trainer = Trainer(cfg, run_dir, resume=resume is not None, recipe_dir=recipe_dir)
    acc = trainer.acc
    if acc.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.clean_temporaries(run_dir)
        recipe_mod.save(cfg, run_dir / RECIPE_FILE)
    if acc.trackers is not None and cfg.trackers:
        acc.init_trackers("gankit", config=recipe_mod.to_dict(cfg), init_kwargs={})
    acc.wait_for_everyone()
    summary = trainer.fit()
    return {**summary, "run_dir": str(run_dir)}


def _pick_run_dir(cfg, out, overwrite: bool, name: str) -> Path:
    if out is None:
        from accelerate.utils import broadcast_object_list

        stamp = [time.strftime("%Y%m%d-%H%M%S")]
        try:
            broadcast_object_list(stamp)  # every process must agree on the folder
        except Exception:  # not distributed
            pass
        return Path(cfg.output.root) / f"{name}-{stamp[0]}"
    run_dir = Path(out)
    if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        raise GankitError(
            f"--out: {run_dir} already exists and is not empty. Resume it with --resume {run_dir}, "
            f"choose another --out, or pass --overwrite to train into it anyway (old checkpoints are replaced)."
        )
    if overwrite and run_dir.is_dir():
        import shutil

        for sub in ("checkpoints", "samples", "metrics.jsonl"):
            p = run_dir / sub
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    return run_dir


def _resume_recipe(run_dir: Path, cfg: DictConfig | None) -> DictConfig:
    stored_path = run_dir / RECIPE_FILE
    if not stored_path.is_file():
        raise GankitError(f"--resume: {run_dir} is not a gankit run (no {RECIPE_FILE}). Give the run directory.")
    if ckpt.latest(run_dir) is None:
        raise GankitError(f"--resume: {run_dir} has no complete checkpoint yet; start a new run instead.")
    stored = recipe_mod.load(stored_path)
    if cfg is None:
        return stored
    changed = recipe_mod.diff_keys(recipe_mod.to_dict(stored), recipe_mod.to_dict(cfg))
    unsafe = [k for k in changed if not recipe_mod.is_resume_safe(k)]
    if unsafe:
        raise GankitError(
            f"--resume: the recipe differs from the one stored in {stored_path} at {', '.join(unsafe)}; "
            f"resuming with those changes would not continue the same run. Only these keys may change on "
            f"resume: {', '.join(recipe_mod.RESUME_SAFE_KEYS)}. Start a new run to change the others."
        )
    return cfg



