"""gankit resume RUN [key=value ...]: continue the shared tiny run (on a copy), and its refusals."""
import json
import os
import shutil

from gankit.cli import main
from gankit.config import recipe
from gankit.store import checkpoints as ckpt
from gankit.store.files import CHECKPOINTS_DIR, METRICS_FILE, RECIPE_FILE


def _copy(run_dir, tmp_path):
    """A private copy of the trained run; checkpoint files are hard links (a resume writes new
    checkpoint folders, never into old ones), everything else a real copy (metrics are appended)."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns(CHECKPOINTS_DIR))
    shutil.copytree(run_dir / CHECKPOINTS_DIR, run / CHECKPOINTS_DIR, copy_function=os.link)
    return run


def _steps(run) -> list[int]:
    return [json.loads(line)["step"] for line in (run / METRICS_FILE).read_text().splitlines()]


def _one_paragraph(err: str) -> str:
    assert err.startswith("gankit: error: "), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


def test_resume_with_a_larger_budget_continues_to_that_step(run_dir, tmp_path, capsys):
    run = _copy(run_dir, tmp_path)
    stored = recipe.load(run / RECIPE_FILE).trainer
    done = stored.max_steps
    assert ckpt.latest(run).name == ckpt.name_for(done)
    target = done + stored.checkpoint_every
    old_metrics = (run / METRICS_FILE).read_text()
    assert main(["resume", str(run), f"trainer.max_steps={target}"]) == 0
    assert f"run directory: {run}" in capsys.readouterr().out
    assert ckpt.latest(run).name == ckpt.name_for(target)
    assert recipe.load(run / RECIPE_FILE).trainer.max_steps == target  # the stored recipe says so now
    new_metrics = (run / METRICS_FILE).read_text()
    assert new_metrics.startswith(old_metrics)  # appended, not restarted
    assert _steps(run)[-1] == target and all(s > done for s in _steps(run)[len(old_metrics.splitlines()):])
    assert ckpt.latest(run_dir).name == ckpt.name_for(done)  # the shared run is untouched


def test_a_plain_resume_of_a_finished_run_trains_nothing(run_dir, tmp_path, capsys):
    run = _copy(run_dir, tmp_path)
    metrics = (run / METRICS_FILE).read_text()
    checkpoints = sorted(p.name for p in (run / CHECKPOINTS_DIR).iterdir())
    assert main(["resume", str(run)]) == 0
    assert f"run directory: {run}" in capsys.readouterr().out
    assert (run / METRICS_FILE).read_text() == metrics
    assert sorted(p.name for p in (run / CHECKPOINTS_DIR).iterdir()) == checkpoints


def test_an_unsafe_change_is_refused_naming_the_key_and_the_safe_ones(run_dir, tmp_path, capsys):
    run = _copy(run_dir, tmp_path)
    stored_text = (run / RECIPE_FILE).read_text()
    seed = recipe.load(run / RECIPE_FILE).trainer.seed
    assert main(["resume", str(run), f"trainer.seed={seed + 1}", "trainer.log_every=1"]) == 2
    err = _one_paragraph(capsys.readouterr().err)
    changed = err.split(" at ", 1)[1].split(";", 1)[0]
    assert changed == "trainer.seed"  # the safe change is not blamed
    assert ", ".join(recipe.RESUME_SAFE_KEYS) in err
    assert (run / RECIPE_FILE).read_text() == stored_text
    assert ckpt.latest(run).name == ckpt.latest(run_dir).name


def test_a_folder_that_is_not_a_run_is_one_error_and_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv in (["resume", str(empty)], ["resume", str(empty), "trainer.max_steps=8"]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        err = _one_paragraph(captured.err)
        assert "not a gankit run" in err and RECIPE_FILE in err and str(empty) in err
        assert "run directory:" not in captured.out
    assert list(empty.iterdir()) == []  # nothing was written into it


def test_a_missing_folder_is_one_error_and_is_not_created(tmp_path, capsys):
    missing = tmp_path / "nope"
    for argv in (["resume", str(missing)], ["resume", str(missing), "trainer.max_steps=8"]):
        assert main(argv) == 2
        assert str(missing) in _one_paragraph(capsys.readouterr().err)
    assert main(["resume", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_a_run_without_a_checkpoint_is_refused(run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns(CHECKPOINTS_DIR))
    assert main(["resume", str(run), "trainer.max_steps=8"]) == 2
    assert "no complete checkpoint" in _one_paragraph(capsys.readouterr().err)
