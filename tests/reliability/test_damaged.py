"""Damaged checkpoints: resuming falls back to the newest intact checkpoint with a warning naming the
damaged one, which is moved aside (never deleted); with none intact it stops, saying what was checked.
`gankit eval`/`gankit sample` choose the same way (and leave the run as it is). In this process."""
import json
import shutil

import pytest

from gankit.cli import main
from gankit.runs.inference import resolve_checkpoint
from gankit.store import checkpoints as ckpt
from gankit.store import intact
from gankit.store.state import read as read_state

from .helpers import SMALL

pytestmark = pytest.mark.xdist_group("damaged")  # one worker builds the module's fixtures once

STEP2, STEP4 = ckpt.name_for(2), ckpt.name_for(4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 4-step run with checkpoints at steps 2 and 4, and one of another recipe."""
    root = tmp_path_factory.mktemp("damaged")
    common = ["trainer.max_steps=4", "trainer.checkpoint_every=2", "ema.enabled=true"]
    assert main(["train", str(SMALL), *common, "--out", str(root / "run")]) == 0
    assert main(["train", str(SMALL), *common, "optim.d.lr=5e-4", "--out", str(root / "other")]) == 0
    return root


@pytest.fixture
def run(trained, tmp_path):
    shutil.copytree(trained / "run", tmp_path / "run")
    return tmp_path / "run"


def truncate(c):
    f = c / "model.safetensors"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def garbage(c):
    (c / "optimizer.bin").write_bytes(b"\x13\x37 not a tensor file " * 50)


def no_state(c):
    (c / "state.json").unlink()


DAMAGES = {"truncated": (truncate, "model.safetensors is damaged"),
           "garbage": (garbage, "optimizer.bin is damaged or holds more than plain tensors"),
           "state_missing": (no_state, "state.json is missing")}


def _checkpoints(run):
    return sorted(p.name for p in (run / "checkpoints").iterdir())


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_resume_falls_back_to_the_newest_intact_checkpoint_and_moves_the_damaged_one_aside(run, damage, capsys):
    hurt, why = DAMAGES[damage]
    hurt(run / "checkpoints" / STEP4)
    with pytest.warns(RuntimeWarning) as caught:
        assert main(["resume", str(run), "trainer.max_steps=5"]) == 0, capsys.readouterr().err
    message = " ".join(str(w.message) for w in caught)
    assert f"{STEP4} is damaged: {why}" in message and f"newest intact checkpoint instead: {run / 'checkpoints' / STEP2}" in message
    assert f"damaged-{STEP4}" in _checkpoints(run)  # kept, beside the new ones
    assert ckpt.latest(run).name == ckpt.name_for(5) and read_state(ckpt.latest(run)).step == 5


def test_a_checkpoint_of_another_recipe_is_not_resumed_from(run, trained):
    theirs = run / "checkpoints" / STEP4
    shutil.rmtree(theirs)
    shutil.copytree(trained / "other" / "checkpoints" / STEP4, theirs)
    assert intact.problem(theirs) is None  # complete, and the same shapes: it would load
    with pytest.warns(RuntimeWarning, match=f"{STEP4} is damaged: it was written by another recipe"):
        assert main(["resume", str(run), "trainer.max_steps=5"]) == 0
    assert f"damaged-{STEP4}" in _checkpoints(run) and ckpt.latest(run).name == ckpt.name_for(5)


def test_with_no_intact_checkpoint_resume_stops_saying_what_was_checked(run, capsys):
    truncate(run / "checkpoints" / STEP4)
    no_state(run / "checkpoints" / STEP2)
    before = _checkpoints(run)
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: --resume: no intact checkpoint") and "Traceback" not in err
    assert f"{STEP4}: model.safetensors is damaged" in err and f"{STEP2}: state.json is missing" in err
    assert "Nothing was moved or deleted" in err and _checkpoints(run) == before


def test_eval_and_sample_choose_the_same_checkpoint_and_leave_the_run_alone(run, tmp_path, capsys):
    truncate(run / "checkpoints" / STEP4)
    with pytest.warns(RuntimeWarning, match=f"{STEP4} is damaged: model.safetensors is damaged"):
        assert resolve_checkpoint(run) == (run, run / "checkpoints" / STEP2)
    with pytest.warns(RuntimeWarning, match=f"{STEP4} is damaged"):
        assert main(["sample", str(run), "--num", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file() and STEP4 in _checkpoints(run)  # not moved by a read-only command
    capsys.readouterr()
    assert main(["sample", str(run / "checkpoints" / STEP4), "--num", "4", "--out", str(tmp_path / "t.png")]) == 2
    assert f"checkpoint {run / 'checkpoints' / STEP4}: model.safetensors is damaged" in capsys.readouterr().err
    no_state(run / "checkpoints" / STEP2)
    for argv in (["sample", str(run), "--num", "4", "--out", str(tmp_path / "u.png")], ["eval", str(run)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "no intact checkpoint" in err and f"{STEP2}: state.json is missing" in err and "Traceback" not in err


def test_a_killed_best_publish_is_redone_on_resume(run):
    """Killed between saving the best checkpoint and publishing it: resuming publishes it."""
    state_file = run / "checkpoints" / STEP4 / "state.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps(state | {"best": 1.0, "best_step": 4}))
    assert ckpt.best(run) is None
    assert main(["resume", str(run), "trainer.max_steps=5"]) == 0
    assert json.loads((ckpt.best(run) / "best.json").read_text())["source"] == STEP4
