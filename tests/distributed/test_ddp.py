"""Two processes over gloo train exactly what one process trains on the same global batch.

Runs ``gankit train`` as real subprocesses (torchrun --standalone --nproc_per_node 2).
"""
import json
import shutil

import pytest
from safetensors.torch import load_file

from launch import HERE, METHODS, MLP, REF, gankit, max_diff, metrics, params, probes, steps

pytestmark = [pytest.mark.distributed, pytest.mark.slow, pytest.mark.xdist_group("ddp")]  # fixtures built once

STYLEGAN2 = HERE / "stylegan2.yaml"  # mlp.yaml with StyleGAN2-ADA, lazy R1 and path length
COMMON = ["trainer.max_steps=4", "trainer.log_every=1", "trainer.checkpoint_every=2", "trainer.sample_every=2"]


@pytest.fixture(scope="module")
def mlp_2proc(tmp_path_factory):
    base = tmp_path_factory.mktemp("mlp2")
    gankit([MLP, *COMMON, "--out", base / "run"], nproc=2, probe=base / "probe")
    return base


@pytest.fixture(scope="module")
def mlp_1proc(tmp_path_factory):
    base = tmp_path_factory.mktemp("mlp1")
    gankit([MLP, *COMMON, "--out", base / "run"], probe=base / "probe")
    return base


@pytest.fixture(scope="module")
def ref_2proc(tmp_path_factory):
    """The reference DCGAN on 2 processes, launched by plain torchrun (no ACCELERATE_USE_CPU) and
    without --out: the run directory name must come from the main process."""
    base = tmp_path_factory.mktemp("ref2")
    gankit([REF, *COMMON, f"output.root={base / 'runs'}"], nproc=2, probe=base / "probe",
           env={"ACCELERATE_USE_CPU": None})
    return base


def test_ranks_hold_identical_parameters_after_every_step(mlp_2proc, ref_2proc):
    for base in (mlp_2proc, ref_2proc):
        r0, r1 = steps(base / "probe", 0), steps(base / "probe", 1)
        assert [r["step"] for r in r0] == [r["step"] for r in r1] == [1, 2, 3, 4]
        for a, b in zip(r0, r1):
            assert a["local"] == b["local"] == 16  # each process takes half of the global batch of 32
            assert a["G"]["sha"] == b["G"]["sha"], f"G differs across ranks at step {a['step']}"
            assert a["D"]["sha"] == b["D"]["sha"], f"D differs across ranks at step {a['step']}"
        assert r0[0]["before"]["G"] != r0[0]["G"] and r0[0]["before"]["D"] != r0[0]["D"]  # both trained


def test_two_processes_match_one_without_batchnorm(mlp_2proc, mlp_1proc):
    m2, m1 = metrics(mlp_2proc / "run"), metrics(mlp_1proc / "run")
    assert [r["step"] for r in m2] == [r["step"] for r in m1] == [1, 2, 3, 4]
    for a, b in zip(m2, m1):
        assert (a["batch_global"], a["batch_per_process"]) == (32, 16)
        assert (b["batch_global"], b["batch_per_process"]) == (32, 32)
        for k in ("d_loss", "g_loss", "d_real", "d_fake"):  # losses of the global batch, not of rank 0
            assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-5), (a["step"], k)
    for step in (2, 4):
        assert max_diff(params(mlp_2proc / "run", step), params(mlp_1proc / "run", step)) < 1e-5


def test_batchnorm_generator_two_processes_equal_one_with_two_micro_batches(ref_2proc, tmp_path):
    """BatchNorm normalizes with the statistics of the batch it sees: on 2 processes each rank's G
    sees its 16 latents, so the forward differs from one process seeing all 32 (and running stats
    differ per rank). The exact equivalent is one process accumulating 2 micro-batches of 16 --
    the same 16-sample groups, the same averaged gradients."""
    gankit([REF, *COMMON, "trainer.grad_accum=2", "--out", tmp_path / "run"])
    (run2,) = (ref_2proc / "runs").iterdir()
    for step in (2, 4):
        assert max_diff(params(run2, step), params(tmp_path / "run", step)) < 1e-5
    a, b = metrics(run2), metrics(tmp_path / "run")
    assert [r["d_loss"] for r in a] == pytest.approx([r["d_loss"] for r in b], rel=1e-4)


def test_only_the_main_process_writes(ref_2proc):
    runs = list((ref_2proc / "runs").iterdir())
    assert len(runs) == 1, runs  # one name, broadcast from the main process
    run = runs[0]
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "curves.png", "machine.json", "metrics.jsonl",
                                                     "recipe.yaml", "report.html", "samples"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["real.png", "step-0000002.png", "step-0000004.png"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-0000002", "step-0000004"]
    assert [r["step"] for r in metrics(run)] == [1, 2, 3, 4]  # no row written twice
    files = sorted(p.name for p in (run / "checkpoints" / "step-0000004").iterdir())
    assert "random_states_0.pkl" in files and "random_states_1.pkl" in files  # save_state ran on both ranks


def _truncated_copy(run, dst):
    """The run as it was after its step-2 checkpoint (as if killed before step 3)."""
    shutil.copytree(run, dst)
    shutil.rmtree(dst / "checkpoints" / "step-0000004")
    return dst


def test_resume_on_two_processes_continues_exactly(mlp_2proc, tmp_path):
    run = _truncated_copy(mlp_2proc / "run", tmp_path / "run")
    gankit(["--resume", run], nproc=2, probe=tmp_path / "probe")
    assert [r["step"] for r in steps(tmp_path / "probe")] == [3, 4]
    assert max_diff(params(run, 4), params(mlp_2proc / "run", 4)) == 0.0
    uninterrupted = {r["step"]: r for r in steps(mlp_2proc / "probe")}
    for rank in (0, 1):
        for r in steps(tmp_path / "probe", rank):
            assert r["G"]["sha"] == uninterrupted[r["step"]]["G"]["sha"]
            assert r["D"]["sha"] == uninterrupted[r["step"]]["D"]["sha"]


def test_two_process_checkpoint_resumes_on_one_process(mlp_2proc, tmp_path):
    run = _truncated_copy(mlp_2proc / "run", tmp_path / "run")
    gankit(["--resume", run], probe=tmp_path / "probe")
    assert [r["step"] for r in steps(tmp_path / "probe")] == [3, 4]
    assert [r["local"] for r in steps(tmp_path / "probe")] == [32, 32]
    # data order and latents depend on (seed, batch) only, so the model continues the same run
    assert max_diff(params(run, 4), params(mlp_2proc / "run", 4)) < 1e-5
    assert metrics(run)[-1]["step"] == 4


def test_resume_on_two_processes_is_exact_with_ada_ema_schedules_and_lazy_r1(tmp_path):
    """ADA's p comes from both ranks' D(real) (all-reduced), so it must match across ranks and
    continue exactly after a resume, with the EMA, schedules and lazy R1 on as well."""
    full = tmp_path / "full"
    gankit([METHODS, *COMMON, "--out", full / "run"], nproc=2, probe=full / "probe")
    run = _truncated_copy(full / "run", tmp_path / "run")
    gankit(["--resume", run], nproc=2, probe=tmp_path / "probe")
    assert max_diff(params(run, 4), params(full / "run", 4)) == 0.0
    ck = "checkpoints/step-0000004/"
    assert max_diff(load_file(str(run / ck / "ema.safetensors")), load_file(str(full / "run" / ck / "ema.safetensors"))) == 0
    state = [json.loads((r / ck / "state.json").read_text())["parts"]["augment"] for r in (run, full / "run")]
    assert state[0] == state[1] and state[0]["updates"] == 4 and state[0]["p"] > 0
    for rank in (0, 1):  # every rank held the same weights at every step
        for r in steps(tmp_path / "probe", rank):
            assert r["G"]["sha"] == {s["step"]: s for s in steps(full / "probe")}[r["step"]]["G"]["sha"]


def test_resume_on_two_processes_is_exact_with_stylegan2_ada_lazy_r1_and_path_length(tmp_path):
    """StyleGAN2-ADA on 2 ranks: path length's target (averaged over ranks) and ADA's p agree across ranks
    and continue exactly after a resume, with style mixing and noise drawn from each rank's RNG."""
    full = tmp_path / "full"
    gankit([STYLEGAN2, *COMMON, "--out", full / "run"], nproc=2, probe=full / "probe")
    run = _truncated_copy(full / "run", tmp_path / "run")
    gankit(["--resume", run], nproc=2, probe=tmp_path / "probe")
    assert max_diff(params(run, 4), params(full / "run", 4)) == 0.0
    ck = "checkpoints/step-0000004/"
    assert max_diff(load_file(str(run / ck / "ema.safetensors")), load_file(str(full / "run" / ck / "ema.safetensors"))) == 0
    state = [json.loads((r / ck / "state.json").read_text())["parts"] for r in (run, full / "run")]
    assert state[0] == state[1] and state[0]["penalties[1]"]["pl_mean"] > 0 and 0 < state[0]["augment"]["p"] < 1
    uninterrupted = {s["step"]: s for s in steps(full / "probe")}
    for rank in (0, 1):  # every rank held the same weights at every step
        assert [r["G"]["sha"] for r in steps(full / "probe", rank)] == [r["G"]["sha"] for r in steps(full / "probe")]
        for r in steps(tmp_path / "probe", rank):
            assert r["G"]["sha"] == uninterrupted[r["step"]]["G"]["sha"]
            assert r["D"]["sha"] == uninterrupted[r["step"]]["D"]["sha"]
