"""Trackers write into the run directory (not the working directory), carry the sweep's tags, and
log each step once across a resume."""
import importlib.util

import yaml

import pytest

from gankit.config import validate
from gankit.errors import GankitError
import shutil

from gankit.training import run as run_mod
from gankit.training import trackers


@pytest.mark.slow
def test_tensorboard_and_offline_wandb_files_belong_to_the_run(tiny_recipe, tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("GANKIT_SWEEP", "sweep-x")
    monkeypatch.setenv("GANKIT_TRIAL", "7")
    cfg = validate.load(tiny_recipe, ["trackers=[tensorboard,wandb]", "trainer.max_steps=2", "trainer.cpu=true"])
    out = run_mod.train(cfg, tmp_path / "run")
    run = tmp_path / "run"
    assert out["exit_code"] == 0 and list(cwd.iterdir()) == []  # nothing in the working directory
    events = list((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert "d_loss" in acc.Tags()["scalars"] and [e.step for e in acc.Scalars("d_loss")] == [2]
    hparams = yaml.safe_load(next((run / "tensorboard").rglob("hparams.yml")).read_text())
    assert hparams["gankit.sweep"] == "sweep-x" and hparams["gankit.trial"] == "7" and hparams["trainer.max_steps"] == 2
    offline = list((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 1 and list(offline[0].glob("*.wandb"))


def test_sweep_tags_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GANKIT_SWEEP", "s1")
    monkeypatch.setenv("GANKIT_TRIAL", "3")
    assert trackers.tags() == {"sweep": "s1", "trial": "3"}
    monkeypatch.delenv("GANKIT_TRIAL")
    assert trackers.tags() == {"sweep": "s1"}


def test_a_tracker_that_is_unknown_or_not_installed_is_an_error_naming_it():
    with pytest.raises(GankitError, match="'tensorbored' is not a tracker"):
        trackers.check(["tensorbored"])
    missing = next((n for n, pkg in trackers.PACKAGES.items() if importlib.util.find_spec(pkg) is None), None)
    if missing is None:
        pytest.skip("every tracker package is installed here")
    with pytest.raises(GankitError, match=f"'{missing}' is in the recipe but its package is not installed"):
        trackers.check(["tensorboard", missing])
    trackers.check(["tensorboard", "wandb"])  # both installed (gankit's dependencies)


@pytest.mark.slow
def test_a_resumed_run_logs_each_step_once(tiny_recipe, tmp_path, monkeypatch):
    """Killed after logging steps 3-4 but before their checkpoint: the resumed run logs 3-4 again;
    TensorBoard purges the first copies (a restart marker at step 3) and wandb continues the same run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    cfg = validate.load(tiny_recipe, ["trackers=[tensorboard,wandb]", "trainer.max_steps=4", "trainer.cpu=true",
                                      "trainer.log_every=1", "trainer.checkpoint_every=2"])
    assert run_mod.train(cfg, run)["exit_code"] == 0
    shutil.rmtree(run / "checkpoints" / "step-0000004")  # as if killed before that checkpoint
    assert run_mod.train(None, resume=run)["exit_code"] == 0
    logs = sorted((run / "tensorboard" / "gankit").glob("events.out.tfevents.*"))  # the scalars (hparams: below)
    assert len(logs) == 2
    restarts = [e.step for e in EventFileLoader(str(logs[1])).Load() if e.HasField("session_log")]
    assert restarts == [3]  # events from step 3 on in the first file are superseded
    acc = EventAccumulator(str(logs[0].parent))
    acc.Reload()
    assert [e.step for e in acc.Scalars("d_loss")] == [1, 2, 3, 4]
    run_id = (run / trackers.WANDB_ID).read_text().strip()
    offline = sorted((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 2 and all(d.name.endswith(f"-{run_id}") for d in offline)
