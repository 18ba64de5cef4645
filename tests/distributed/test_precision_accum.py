"""Mixed precision, gradient accumulation, clipping and the refusals, on real subprocess runs."""
import math
import subprocess
import sys

import pytest

from launch import MLP, REF, ROOT, gankit, max_diff, metrics, params, probes, steps

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def test_bf16_runs_layers_in_bfloat16_with_fp32_parameters(tmp_path):
    from gankit.training.accel import native_bf16

    # where bf16 is emulated (AVX2-only CPUs: ~100x slower) the run is shrunk to a few images
    small = [] if native_bf16(cpu=True) else ["trainer.batch_size=8", "trainer.num_grid=4"]
    gankit([REF, "trainer.precision=bf16", "trainer.max_steps=2", "trainer.log_every=1", *small,
            "--out", tmp_path / "run"], probe=tmp_path / "probe")
    first = steps(tmp_path / "probe")[0]
    # every Linear/Conv/ConvTranspose output inside G and D was bfloat16 (autocast is really on) ...
    assert first["layer_dtypes"] == {"G": ["torch.bfloat16"], "D": ["torch.bfloat16"]}
    # ... while the parameters (and so the optimizer's updates) stay fp32
    assert first["G"]["dtypes"] == first["D"]["dtypes"] == ["torch.float32"]
    rows = metrics(tmp_path / "run")
    assert [r["step"] for r in rows] == [1, 2]
    assert all(math.isfinite(r[k]) for r in rows for k in ("d_loss", "g_loss", "d_real", "d_fake"))


def test_grad_accum_equals_one_big_batch_and_clips_once_per_step(tmp_path):
    """grad_accum=2 with micro-batches of 16 makes the same updates as one batch of 32 (no BatchNorm).

    Both runs clip each network's gradient norm (fp32): the clip acts once per step, on the
    accumulated gradient, and bounds the norm the optimizer sees.
    """
    common = [MLP, "trainer.max_steps=2", "trainer.log_every=1", "trainer.checkpoint_every=1", "trainer.batch_size=32",
              "optim.d.grad_clip=0.05", "optim.g.grad_clip=0.1"]
    gankit([*common, "trainer.grad_accum=1", "--out", tmp_path / "big"], probe=tmp_path / "p_big")
    gankit([*common, "trainer.grad_accum=2", "--out", tmp_path / "acc"], probe=tmp_path / "p_acc")
    big, acc = steps(tmp_path / "p_big"), steps(tmp_path / "p_acc")
    assert big[0]["layer_dtypes"] == {"G": ["torch.float32"], "D": ["torch.float32"]}  # control for bf16
    assert [r["local"] for r in big] == [32, 32] and [r["local"] for r in acc] == [16, 16]
    assert [r["batch"] for r in acc] == [1, 2]  # one global batch per step, not two
    # both optimizers really stepped in the accumulated run
    assert acc[0]["before"]["D"]["sha"] != acc[0]["D"]["sha"]
    assert acc[0]["before"]["G"]["sha"] != acc[0]["G"]["sha"]
    for step in (1, 2):
        assert max_diff(params(tmp_path / "acc", step), params(tmp_path / "big", step)) < 1e-5
    for a, b in zip(metrics(tmp_path / "acc"), metrics(tmp_path / "big")):
        assert a["batch_per_process"] == 16 and b["batch_per_process"] == 32
        assert a["d_loss"] == pytest.approx(b["d_loss"], rel=1e-4)
        assert a["g_loss"] == pytest.approx(b["g_loss"], rel=1e-4)
    for probe in ("p_big", "p_acc"):
        clips = [r for r in probes(tmp_path / probe) if "clip" in r]
        assert [r["clip"] for r in clips] == ["D", "G", "D", "G"]  # each network once per step
        for r in clips:
            assert r["max"] == {"D": 0.05, "G": 0.1}[r["clip"]]
            assert r["pre"] > r["max"]  # the clip had something to do ...
            assert r["post"] <= r["max"] * (1 + 1e-5)  # ... and the norm the optimizer saw is bounded
            assert r["post"] == pytest.approx(r["max"], rel=1e-3)
    pre = {p: [r["pre"] for r in probes(tmp_path / p) if "clip" in r] for p in ("p_big", "p_acc")}
    assert pre["p_acc"] == pytest.approx(pre["p_big"], rel=1e-4)  # the accumulated gradient was clipped


@pytest.mark.parametrize("override, key", [("trainer.precision=fp16", "trainer.precision"),
                                           ("ddp.sync_batchnorm=true", "ddp.sync_batchnorm")])
def test_refused_on_cpu_with_a_clear_message(tmp_path, capsys, override, key):
    """Refused before any accelerator exists, so the CLI runs in this process."""
    import torch

    from gankit.cli import main

    if torch.cuda.is_available():
        pytest.skip("these are CPU-only refusals")
    assert main(["train", str(REF), override, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gankit: error: {key}") and "Traceback" not in err
    assert "fp16 needs a CUDA GPU" in err if key == "trainer.precision" else "only on CUDA" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_batch_not_divisible_into_micro_batches_is_refused(tmp_path):
    proc = gankit([REF, "trainer.grad_accum=3", "--out", tmp_path / "run"], check=False, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "gankit: error: trainer.batch_size: batch size 32 is not divisible by 1 processes × 3 accumulation" \
        in proc.stderr
    assert "Traceback" not in proc.stderr


def test_world_size_without_a_process_group_is_refused(tmp_path):
    """WORLD_SIZE=2 but accelerate's state was formed without a process group (so each process
    would train alone, believing it is the main one): stop with the launcher hint."""
    code = ("import os, sys\n"
            "from accelerate import PartialState\n"
            "PartialState(cpu=True)\n"  # formed alone, before WORLD_SIZE is visible
            "os.environ['WORLD_SIZE'] = '2'\n"
            "from gankit.cli import main\n"
            f"sys.exit(main(['train', {str(REF)!r}, '--out', {str(tmp_path / 'run')!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "gankit: error: launcher: WORLD_SIZE=2" in proc.stderr
    assert "ACCELERATE_USE_CPU=1" in proc.stderr and "Traceback" not in proc.stderr


def test_gpu_check_without_a_gpu_says_so_and_exits_0():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: run scripts/gpu_check.py by hand")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py")], capture_output=True, text=True,
                          timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no CUDA GPU" in proc.stdout
