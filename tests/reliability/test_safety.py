"""Divergence guard, disk-full saves, best/rotation, safe files (no code from checkpoints, YAML or
unnamed plugins), and the run-directory rules. All in this process: each test takes a second or two."""
import errno
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gankit.config import recipe
from gankit.cli import main
from gankit.errors import GankitError
from gankit.store import checkpoints as ckpt
from gankit.store.files import STATE_FILE
from gankit.store.state import read as read_state
from gankit.training.run import train
from gankit.training.trainer import Trainer

from .helpers import PLUGINS, SMALL


def _cfg(*overrides, plugins=False):
    ov = list(overrides) + ([f"plugins=[{PLUGINS}]"] if plugins else [])
    return recipe.load(SMALL, ov)


def _all_finite(path: Path) -> bool:
    return all(torch.isfinite(t).all() for f in path.glob("*.safetensors") for t in load_file(str(f)).values())


# -- divergence ------------------------------------------------------------------------------
def test_nan_loss_stops_naming_step_and_last_good_checkpoint(tmp_path):
    cfg = _cfg("loss.name=reliability_nan_at", "loss.step=5", "trainer.max_steps=20", plugins=True)
    with pytest.raises(GankitError) as e:
        train(cfg, tmp_path / "run")
    msg = str(e.value)
    assert "non-finite" in msg and "by step 6" in msg and "after step 4" in msg
    assert str(tmp_path / "run" / "checkpoints" / "step-0000004") in msg
    assert "trainer.on_nonfinite=skip" in msg
    found = ckpt.list_checkpoints(tmp_path / "run")
    assert [c.name for c in found] == ["step-0000002", "step-0000004"]
    assert all(_all_finite(c) for c in found)


def test_huge_lr_never_writes_nonfinite_weights(tmp_path):
    # lr 1e38: the first update overflows the weights to inf/NaN; whichever check fires first
    # (loss or weights), no checkpoint with such weights may exist.
    cfg = _cfg("optim.d.lr=1e38", "optim.g.lr=1e38", "trainer.max_steps=6", "trainer.log_every=3")
    with pytest.raises(GankitError, match="diverged"):
        train(cfg, tmp_path / "run")
    assert all(_all_finite(c) for c in ckpt.list_checkpoints(tmp_path / "run"))


def test_skip_mode_skips_and_counts(tmp_path):
    cfg = _cfg("loss.name=reliability_nan_at", "loss.step=3", "trainer.max_steps=6",
               "trainer.on_nonfinite=skip", plugins=True)
    summary = train(cfg, tmp_path / "run")
    last = ckpt.latest(tmp_path / "run")
    state = read_state(last)
    assert last.name == "step-0000006" and state.skipped == 1
    assert state.batch == 7  # the skipped iteration used a batch but is not a step
    assert _all_finite(last) and "d_loss" in summary


def test_skip_mode_gives_up_when_every_step_fails(tmp_path, monkeypatch):
    import gankit.training.guard as guard

    monkeypatch.setattr(guard, "MAX_SKIPS_IN_ROW", 3)
    cfg = _cfg("optim.d.lr=1e38", "optim.g.lr=1e38", "trainer.max_steps=50", "trainer.on_nonfinite=skip")
    # lr 1e38 with skipping: the weights stay finite (updates with inf grads are dropped) or the loss
    # stays non-finite; either way the run must end, with a message, not loop forever.
    try:
        train(cfg, tmp_path / "run")
    except GankitError as e:
        assert "trainer.on_nonfinite" in str(e) or "diverged" in str(e)
    assert all(_all_finite(c) for c in ckpt.list_checkpoints(tmp_path / "run"))


# -- saving ----------------------------------------------------------------------------------
@pytest.fixture
def trainer(tmp_path):
    cfg = _cfg("trainer.max_steps=2", "ema.enabled=true", "trainer.keep_checkpoints=2")
    t = Trainer(cfg, tmp_path / "run")
    t.fit()
    recipe.save(cfg, t.run_dir / "recipe.yaml")
    return t


def test_disk_full_during_save_is_a_clear_error_and_keeps_the_previous_checkpoint(trainer, monkeypatch):
    before = ckpt.latest(trainer.run_dir)
    assert before.name == "step-0000002"
    trainer.state.step = 3

    def full(path, **kw):  # writes half a file, then the disk is full
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "model.safetensors").write_bytes(b"\0" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trainer.acc, "save_state", full)
    with pytest.raises(GankitError) as e:
        trainer.save()
    msg = str(e.value)
    assert "No space left on device" in msg and str(before) in msg and "--resume" in msg
    assert ckpt.latest(trainer.run_dir) == before and _all_finite(before)
    assert not list((trainer.run_dir / "checkpoints").glob(".tmp-*"))


def test_rotation_keeps_newest_and_best_is_never_rotated(trainer):
    run = trainer.run_dir
    best = ckpt.publish_best(run, ckpt.latest(run), {"metric": "fd", "value": 1.5, "step": 2})
    for step in (3, 4, 5):
        trainer.state.step = step
        trainer.save()
    assert [c.name for c in ckpt.list_checkpoints(run)] == ["step-0000004", "step-0000005"]
    assert ckpt.best(run) == best and read_state(best).step == 2
    assert (best / "ema.safetensors").is_file() and "fd" in (best / "best.json").read_text()
    # Publishing a newer best replaces it atomically; nothing half-written is left behind.
    ckpt.publish_best(run, ckpt.latest(run), {"metric": "fd", "value": 1.0, "step": 5})
    assert read_state(ckpt.best(run)).step == 5
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best", "step-0000004", "step-0000005"]


def test_interrupted_swap_is_repaired(tmp_path):
    # A crash between parking the old folder and renaming the new one: the old one comes back.
    ck = tmp_path / "checkpoints"
    (ck / ".old-step-0000004").mkdir(parents=True)
    (ck / ".old-step-0000004" / STATE_FILE).write_text('{"step": 4}')
    (ck / ".tmp-step-0000004").mkdir()
    assert ckpt.latest(tmp_path) is None
    ckpt.clean_temporaries(tmp_path)
    assert ckpt.latest(tmp_path).name == "step-0000004"
    assert sorted(p.name for p in ck.iterdir()) == ["step-0000004"]


# -- safe files ----------------------------------------------------------------------------
class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("victim", ["optimizer.bin", "random_states_0.pkl", "optimizer_1.bin"])
def test_malicious_pickle_in_checkpoint_is_refused_and_never_runs(trainer, tmp_path, victim, capsys):
    marker = tmp_path / "pwned"
    target = ckpt.latest(trainer.run_dir) / victim
    target.write_bytes(pickle.dumps({"state": _Payload(marker)}))
    rc = main(["train", "--resume", str(trainer.run_dir), ])
    err = capsys.readouterr().err
    assert rc == 2 and "refused to load" in err and victim in err and "Traceback" not in err
    assert not marker.exists()
    # torch.save'd payload (zip format) too
    torch.save({"x": _Payload(marker)}, target)
    assert main(["train", "--resume", str(trainer.run_dir)]) == 2
    assert not marker.exists()


def test_yaml_recipes_cannot_run_code(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "tag.yaml"
    bad.write_text(f"description: !!python/object/apply:pathlib.Path.touch ['{marker}']\n")
    with pytest.raises(GankitError):
        recipe.load(bad)
    bad.write_text("description: ${eval:'__import__(\"os\").system(\"touch " + str(marker) + "\")'}\n")
    with pytest.raises(GankitError):
        recipe.load(bad)
    with pytest.raises(GankitError):
        recipe.load(SMALL, ["description=${eval:1+1}"])
    assert not marker.exists()
    from omegaconf import OmegaConf

    assert not OmegaConf.has_resolver("eval") and not OmegaConf.has_resolver("python")


def test_plugins_run_only_when_named(tmp_path):
    marker = tmp_path / "imported"
    (tmp_path / "sneaky.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    r = tmp_path / "r.yaml"
    r.write_text(f"base: {SMALL}\n")
    from gankit.training.check import check

    report = check(r, timed_steps=0)
    assert not marker.exists()  # a file next to the recipe is not imported on its own
    assert "imports     gankit's own components only" in report.render()
    r.write_text(f"base: {SMALL}\nplugins: [sneaky.py]\n")
    report = check(r, timed_steps=0)
    assert marker.exists()
    # `gankit check` lists the code the run will import
    assert f"imports     file {(tmp_path / 'sneaky.py').resolve()} (recipe plugins:)" in report.render()


# -- run directories -------------------------------------------------------------------------
def test_non_empty_out_is_refused_unless_resume_or_overwrite(trainer, capsys):
    out = str(trainer.run_dir)
    assert main(["train", str(SMALL), "trainer.max_steps=2", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "--resume" in err and "--overwrite" in err and "Traceback" not in err
    assert main(["train", str(SMALL), "trainer.max_steps=1", "trainer.checkpoint_every=1", "--out", out,
                 "--overwrite"]) == 0
    assert [c.name for c in ckpt.list_checkpoints(trainer.run_dir)] == ["step-0000001"]
    shutil.rmtree(trainer.run_dir / "samples")
    assert main(["train", str(SMALL), "trainer.max_steps=2", "--resume", out]) == 0
    assert ckpt.latest(trainer.run_dir).name == "step-0000002"
