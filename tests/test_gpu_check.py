"""scripts/gpu_check.py on the CPU: one recipe at --tiny widths, and the JSON it writes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import torch  # noqa: E402
from gpu_check import plan  # noqa: E402
from gpu_check_run import HandSide, _thin  # noqa: E402


def test_the_plan_keeps_what_fits_and_shares_the_rest():
    combos = [("a", "bf16", "eager"), ("a", "bf16", "compile"), ("a", "fp32", "eager")]
    kept, left = plan(combos, budget=40, start_s=10, compile_s=60, timed=(2, 30))
    assert [k["combo"] for k in kept] == [combos[0], combos[2]] and left == [combos[1]]
    assert all(k["timed_s"] == 10 for k in kept)  # 2 + (40 - 2 × (10 + 2)) / 2


def test_fp16_reports_count_skips_and_thin_the_scale():
    assert len(_thin([torch.tensor(float(i)) for i in range(1000)])) == 250
    hand = HandSide.__new__(HandSide)  # fp16 runs only on a GPU: its scales stand in
    hand.loop = type("Loop", (), {"scales": [torch.tensor(x) for x in (32768.0, 32768.0, 16384.0, 16384.0)]})()
    r = hand.fp16()  # 65536 → 32768 (D's first update skipped), → 16384 (D's second)
    assert (r["skipped_updates"], r["updates_run"], r["scale_per_step"]) == (2, 4, [32768.0, 16384.0])


@pytest.mark.slow
def test_gpu_check_on_the_cpu_writes_every_field(tmp_path):
    out = tmp_path / "results" / "gpu_check.json"
    cmd = [sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--device", "cpu", "--tiny", "--recipes",
           "cifar10_sngan", "--precisions", "fp32,fp16", "--budget", "100", "--warmup", "2", "--max-steps", "4",
           "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "gpu_check plan: 1 of 1 combinations" in proc.stdout  # fp16 and compile left out on a CPU
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["finished"] is True and report["not_planned"] == []
    assert {"gpu", "torch", "cuda", "commit", "date_utc"} <= set(report["machine"]) and "--tiny" in report["command"]
    assert [p["combo"] for p in report["plan"]] == ["cifar10_sngan:fp32:eager"]
    (r,) = report["results"]
    assert (r["recipe"], r["precision"], r["mode"]) == ("cifar10_sngan", "fp32", "eager")
    assert (r["batch_size"], r["d_steps"]) == (8, 5)
    assert "off" in r["augment"] and r["tiny"] is True
    for side in ("gankit", "hand"):
        s = r[side]
        assert s["finite"] is True and s["steps"] == 4 and s["images_per_s"] > 0, s
        assert {"warmup_s", "seconds", "d_loss_last", "g_loss_last"} <= set(s)
    ratio = r["gankit"]["images_per_s"] / r["hand"]["images_per_s"]
    assert r["ratio_gankit_over_hand"] == pytest.approx(ratio, rel=0.01)
