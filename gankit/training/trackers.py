"""Experiment trackers (wandb, TensorBoard, ...) whose files belong to the run, once per step.

* Files: wandb's under ``RUN_DIR/wandb/``, TensorBoard's under ``RUN_DIR/tensorboard/``, never in
  the working directory (many runs there would mix their files).
* Tags: a run started by a sweep worker carries the sweep and trial from the environment
  (``GANKIT_SWEEP``, ``GANKIT_TRIAL``; wandb: group = sweep, tags = sweep and trial, name = run directory).
* Resume: rows logged after the checkpoint a run resumes from are logged again by the resumed run
  (``metrics.jsonl`` drops its duplicates by step). TensorBoard purges the events after that step
  (``purge_step``); wandb continues the same run (its id is kept in ``RUN_DIR/wandb/run-id``), and
  a wandb run ignores rows at steps it has already seen.
"""
import importlib.util
import json
import os
import secrets
from pathlib import Path

from accelerate.tracking import filter_trackers
from omegaconf import DictConfig

from gankit.config import recipe as recipe_mod
from gankit.errors import GankitError
from gankit.store.files import write_text_atomic

PACKAGES = {"wandb": "wandb", "tensorboard": "tensorboard", "mlflow": "mlflow", "aim": "aim",
            "comet_ml": "comet_ml", "clearml": "clearml", "dvclive": "dvclive", "trackio": "trackio",
            "swanlab": "swanlab"}
WANDB_ID = Path("wandb") / "run-id"


def check(names) -> None:
    """Every tracker of the recipe is known and installed (accelerate would drop a missing one silently)."""
    for name in names:
        if name not in PACKAGES:
            raise GankitError(f"trackers: '{name}' is not a tracker gankit can start; choose from "
                              f"{', '.join(PACKAGES)}.")
        if importlib.util.find_spec(PACKAGES[name]) is None:
            raise GankitError(f"trackers: '{name}' is in the recipe but its package is not installed "
                              f"(pip install {PACKAGES[name]}), or remove it from trackers.")


def tags() -> dict:
    """The sweep and trial a run belongs to, from the environment a sweep worker sets."""
    return {k: os.environ[v] for k, v in (("sweep", "GANKIT_SWEEP"), ("trial", "GANKIT_TRIAL")) if os.environ.get(v)}


def start(acc, cfg: DictConfig, run_dir: Path, resumed_at: int | None = None) -> None:
    """Start the recipe's trackers with their files in the run directory; ``resumed_at``: the step of
    the checkpoint a resumed run continues from (its trackers drop what was logged after it)."""
    run_dir = Path(run_dir).resolve()
    acc.project_configuration.set_directories(str(run_dir))
    acc.project_configuration.logging_dir = str(run_dir / "tensorboard")  # TensorBoard: RUN_DIR/tensorboard/gankit
    acc.log_with = filter_trackers(list(cfg.trackers), acc.logging_dir)
    found = tags()
    wandb = {"dir": str(run_dir), "name": run_dir.name}
    if "wandb" in cfg.trackers:
        wandb |= {"id": _wandb_id(acc, run_dir), "resume": "allow"}
    if found:
        wandb |= {"group": found.get("sweep"), "tags": [f"{k}:{v}" for k, v in found.items()]}
    kwargs = {"wandb": wandb}
    if resumed_at is not None:
        kwargs["tensorboard"] = {"purge_step": resumed_at + 1}  # events at later steps are logged again
    config = {**flat(recipe_mod.to_dict(cfg)), **{f"gankit.{k}": v for k, v in found.items()}}
    acc.init_trackers("gankit", config=config, init_kwargs=kwargs)


def _wandb_id(acc, run_dir: Path) -> str:
    """The run's wandb id: made at its first start, read back on every resume (main process only logs)."""
    path = run_dir / WANDB_ID
    if path.is_file():
        return path.read_text().strip()
    run_id = secrets.token_hex(4)
    if acc.is_main_process:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, run_id + "\n")
    return run_id


def flat(node, prefix: str = "") -> dict:
    """A recipe as {dotted key: scalar} (TensorBoard's hparams take no nesting; lists become JSON text)."""
    out = {}
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= flat(v, key + ".")
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v)
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[key] = "null" if v is None else v
        else:
            out[key] = str(v)
    return out
