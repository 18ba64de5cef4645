"""Exact resume: a run stopped and resumed in new processes ends bit-identical to an uninterrupted one."""
import json
import shutil

import pytest

from gankit.cli import main
from gankit.store import checkpoints as ckpt

from .helpers import HERE, METHODS, SMALL, assert_identical, gankit, load_checkpoint

pytestmark = pytest.mark.xdist_group("resume")  # one worker builds the module's fixtures once

STYLEGAN2 = HERE / "recipes" / "stylegan2.yaml"  # small.yaml with StyleGAN2-ADA, lazy R1 and path length

N = 12  # 4 steps per epoch: the resumed half crosses the epoch boundaries at steps 8 and 12


def _ok(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def continuous(tmp_path_factory):
    """N steps in one process (EMA, dropout in D, BatchNorm in G)."""
    run = tmp_path_factory.mktemp("cont") / "run"
    _ok(gankit("train", SMALL, f"trainer.max_steps={N}", "ema.enabled=true", "--out", run, hashseed=1))
    return run


@pytest.mark.slow
def test_resume_from_a_mid_run_checkpoint_is_bit_identical(continuous, tmp_path):
    # The same run, cut back to its step-6 checkpoint (as if it had stopped there), resumed in a new
    # process with another hash seed: the data order, latents and dropout masks must match.
    run = tmp_path / "run"
    shutil.copytree(continuous, run)
    for c in ckpt.list_checkpoints(run):
        if int(c.name.removeprefix("step-")) > N // 2:
            shutil.rmtree(c)
    assert ckpt.latest(run).name == ckpt.name_for(N // 2)
    _ok(gankit("train", "--resume", run, hashseed=2))
    want = load_checkpoint(ckpt.latest(continuous))
    got = load_checkpoint(ckpt.latest(run))
    assert got["state.json"] == {"step": N, "batch": N, "skipped": 0}
    assert {"model.safetensors", "model_1.safetensors", "ema.safetensors", "optimizer.bin",
            "optimizer_1.bin"} <= set(got)
    assert_identical(want, got)


@pytest.mark.slow
def test_resume_is_bit_identical_with_ada_ema_ramp_schedules_and_lazy_r1(tmp_path):
    """Every stateful method on (recipes/methods.yaml): stopped at step 6 of 12 and resumed in a new
    process, the weights, EMA, optimizer states, ADA's p and its accumulators match exactly."""
    full, cut = tmp_path / "full", tmp_path / "cut"
    _ok(gankit("train", METHODS, f"trainer.max_steps={N}", "--out", full, hashseed=1))
    shutil.copytree(full, cut)  # as if killed after the step-6 checkpoint
    for c in ckpt.list_checkpoints(cut):
        if int(c.name.removeprefix("step-")) > N // 2:
            shutil.rmtree(c)
    lines = (cut / "metrics.jsonl").read_text().splitlines()
    (cut / "metrics.jsonl").write_text("".join(f"{x}\n" for x in lines if json.loads(x)["step"] <= N // 2))
    _ok(gankit("train", "--resume", cut, hashseed=3))
    want, got = load_checkpoint(ckpt.latest(full)), load_checkpoint(ckpt.latest(cut))
    assert 0 < want["parts"]["augment"]["p"] < 1 and want["parts"]["augment"]["updates"] == N  # p moved
    assert {"ema.safetensors", "model.safetensors", "optimizer.bin"} <= set(got)
    assert_identical(want, got)
    rows = {r["step"]: r for r in map(json.loads, (cut / "metrics.jsonl").read_text().splitlines())}
    full_rows = {r["step"]: r for r in map(json.loads, (full / "metrics.jsonl").read_text().splitlines())}
    for step, row in full_rows.items():
        for key in ("d_loss", "g_loss", "augment.p", "optim.g.lr", "penalties[0].gamma"):
            assert rows[step][key] == row[key], (step, key)


@pytest.mark.slow
def test_resume_with_a_larger_max_steps_both_commands(continuous, tmp_path):
    """N/2 steps, then `gankit resume RUN trainer.max_steps=N` and `gankit train RECIPE ... --resume RUN`."""
    # (a schedule without its own length follows max_steps, so it changes course when max_steps grows.)
    common = [SMALL, "ema.enabled=true"]
    full, half = continuous, tmp_path / "half"
    _ok(gankit("train", *common, f"trainer.max_steps={N // 2}", "--out", half, hashseed=4))
    half2 = tmp_path / "half2"
    shutil.copytree(half, half2)
    _ok(gankit("resume", half, f"trainer.max_steps={N}", hashseed=5))
    _ok(gankit("train", *common, f"trainer.max_steps={N}", "--resume", half2, hashseed=6))
    want = load_checkpoint(ckpt.latest(full))
    for run in (half, half2):
        assert ckpt.latest(run).name == ckpt.name_for(N)
        assert_identical(want, load_checkpoint(ckpt.latest(run)))
    # The stored recipe now says max_steps=N, so a plain resume has nothing left to do.
    assert f"max_steps: {N}" in (half / "recipe.yaml").read_text()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A finished 2-step run, trained in this process (for the fast refusal tests)."""
    run = tmp_path_factory.mktemp("small") / "run"
    assert main(["train", str(SMALL), "trainer.max_steps=2", "--out", str(run)]) == 0
    return run


def test_resume_with_changed_recipe_is_refused_and_lists_safe_keys(small_run, capsys):
    rc = main(["train", str(SMALL), "trainer.max_steps=4", "optim.d.lr=0.5", "trainer.batch_size=8",
               "--resume", str(small_run)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "optim.d.lr" in err and "trainer.batch_size" in err
    assert "trainer.max_steps" not in err.split("at ")[1].split(";")[0]  # max_steps is a safe change
    assert "trainer.epochs, trainer.max_steps" in err  # the safe keys are listed
    assert ckpt.latest(small_run).name == ckpt.name_for(2)  # nothing was trained


def test_resume_refusals_name_the_problem(small_run, tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    assert "not a gankit run" in capsys.readouterr().err
    no_ckpt = tmp_path / "no_ckpt"
    shutil.copytree(small_run, no_ckpt)
    shutil.rmtree(no_ckpt / "checkpoints")
    assert main(["resume", str(no_ckpt)]) == 2
    assert "no complete checkpoint" in capsys.readouterr().err


def test_plugin_paths_are_stored_absolute_so_resume_works_anywhere(tmp_path, monkeypatch, capsys):
    recipe = tmp_path / "r.yaml"
    (tmp_path / "my_plugin.py").write_text(
        "from gankit.losses.adversarial import non_saturating\nfrom gankit.config.registry import LOSSES\n"
        "LOSSES.register('reliability_moved')(lambda: non_saturating())\n")
    recipe.write_text(f"base: {SMALL}\nplugins: [my_plugin.py]\nloss: {{name: reliability_moved}}\n")
    run = tmp_path / "run"
    assert main(["train", str(recipe), "trainer.max_steps=2", "--out", str(run)]) == 0
    stored = (run / "recipe.yaml").read_text()
    assert str((tmp_path / "my_plugin.py").resolve()) in stored
    monkeypatch.chdir("/")
    assert main(["resume", str(run), "trainer.max_steps=4"]) == 0, capsys.readouterr().err
    assert ckpt.latest(run).name == ckpt.name_for(4)


@pytest.mark.slow
def test_resume_is_bit_identical_with_stylegan2_ada_lazy_r1_and_path_length(tmp_path):
    """StyleGAN2-ADA (recipes/stylegan2.yaml): stopped at step 6 of 12 and resumed in a new process, the
    weights (w_avg included), EMA, optimizer states, ADA's p and path length's target match exactly."""
    recipe = STYLEGAN2
    full, cut = tmp_path / "full", tmp_path / "cut"
    _ok(gankit("train", recipe, f"trainer.max_steps={N}", "--out", full, hashseed=1))
    shutil.copytree(full, cut)
    for c in ckpt.list_checkpoints(cut):
        if int(c.name.removeprefix("step-")) > N // 2:
            shutil.rmtree(c)
    _ok(gankit("train", "--resume", cut, hashseed=3))
    want, got = load_checkpoint(ckpt.latest(full)), load_checkpoint(ckpt.latest(cut))
    assert 0 < want["parts"]["augment"]["p"] < 1 and want["parts"]["penalties[1]"]["pl_mean"] > 0
    assert any(k.endswith("w_avg") for k in want["model.safetensors"])
    assert_identical(want, got)
