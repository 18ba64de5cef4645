"""gankit bench through the CLI: --json fields, overrides reach the timed recipe, the table, refusals."""
import json
import re

import pytest
import torch

from gankit.cli import main
from gankit.config import recipe
from gankit.training import accel, bench


@pytest.mark.slow
def test_json_reflects_the_overrides_and_the_step_count(tiny_recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    batch = recipe.load(tiny_recipe).trainer.batch_size // 2
    steps = 2
    assert main(["bench", str(tiny_recipe), f"trainer.batch_size={batch}", "--steps", str(steps), "--warmup", "1",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["batch_size"] == batch and r["steps"] == steps and r["precision"] == "no"
    assert r["ms_per_step"] > 0
    assert r["images_per_s"] == pytest.approx(batch / (r["ms_per_step"] / 1e3), abs=0.1)
    split = r["split"]
    assert {"d_step", "g_step", "other"} <= set(split)
    assert all(0 <= v <= 1 for v in split.values())
    assert sum(split.values()) == pytest.approx(1.0, abs=0.02)
    assert r["achieved_gflops"] == pytest.approx(r["gflop_per_step"] / (r["ms_per_step"] / 1e3), rel=0.05, abs=0.1)
    assert list(tmp_path.iterdir()) == []  # no run written


@pytest.mark.slow
def test_without_json_a_table_is_printed(tiny_recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    batch = recipe.load(tiny_recipe).trainer.batch_size // 2
    assert main(["bench", str(tiny_recipe), f"trainer.batch_size={batch}", "--steps", "1", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    assert re.search(rf"^device \S+  precision no  compile False  channels_last False  batch {batch}$", out, re.M)
    assert re.search(r"^median step +[\d.]+ ms .*over 1 steps\)$", out, re.M)
    split = re.search(r"^split of a step +(.*)$", out, re.M).group(1)
    shares = [float(x) for x in re.findall(r"([\d.]+)%", split)]
    assert "d_step" in split and "g_step" in split
    assert sum(shares) == pytest.approx(100.0, abs=2.0)
    fraction = re.search(r"^fraction of peak +(\d+)% of the measured fp32 matmul rate \((\d+) GFLOP/s\)$", out, re.M)
    achieved = float(re.search(r"GFLOP  →  (\d+) GFLOP/s achieved$", out, re.M).group(1))
    peak = int(fraction.group(2))  # both rates are printed rounded to whole GFLOP/s: the share lies within their rounding
    low, high = 100 * (achieved - 0.5) / (peak + 0.5), 100 * (achieved + 0.5) / max(peak - 0.5, 0.5)
    assert low - 0.5 <= int(fraction.group(1)) <= high + 0.5


def test_a_bad_override_is_refused_before_timing(tiny_recipe, capsys):
    assert main(["bench", str(tiny_recipe), "trainer.batch_size=0", "--steps", "1", "--warmup", "0", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gankit: error: ") and "trainer.batch_size" in captured.err
    assert "Traceback" not in captured.err


def test_a_missing_recipe_is_one_error(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "none.yaml"), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and "none.yaml" in err and "Traceback" not in err


def test_where_bf16_is_not_native_its_big_probe_is_not_run(tiny_recipe, tmp_path, monkeypatch, capsys):
    """On an AVX2-only CPU a 2048x2048 bf16 matmul probe took minutes: there bf16 is only probed tiny."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(accel, "native_bf16", lambda cpu: False)
    big = []
    real = bench.matmul_gflops
    monkeypatch.setattr(bench, "matmul_gflops", lambda dev, dtype=torch.float32, **kw: big.append(dtype) or real(dev, dtype, **kw))
    assert main(["bench", str(tiny_recipe), "--steps", "1", "--warmup", "0", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert big == [torch.float32]  # the full-size probe ran for fp32 only
    assert r["matmul_gflops_bf16"] == "emulated" and r["bf16_emulated"]["probe_n"] <= 512
    assert r["bf16_emulated"]["gflops"] > 0 and r["bf16_emulated"]["slowdown"] > 0
    assert r["precision_resolved"] == "no" and r["peak_gflops"] == r["matmul_gflops_fp32"]
    assert r["fraction_of_peak"] == pytest.approx(r["achieved_gflops"] / r["peak_gflops"], rel=0.01, abs=0.002)
    table = bench.format_table(r)
    assert re.search(r"^machine matmul +\d+ GFLOP/s fp32, bf16 emulated \([\d.]+x slower than fp32 in a \d+x\d+ probe; "
                     r"not benched\)$", table, re.M)


def test_where_bf16_is_native_it_is_benched_at_full_size(tiny_recipe, tmp_path, monkeypatch, capsys):
    """Where bf16 is native the full-size probe runs for it; where it is not, the probe's bf16 run is
    stood in for (emulated, the 2048×2048 matmul alone takes minutes) and only the call is checked."""
    monkeypatch.chdir(tmp_path)
    really_native, real, probed = accel.native_bf16(True), bench.matmul_gflops, []
    monkeypatch.setattr(accel, "native_bf16", lambda cpu: True)
    monkeypatch.setattr(bench, "matmul_gflops", lambda dev, dtype=torch.float32, **kw: probed.append(dtype) or (
        real(dev, dtype, **kw) if dtype == torch.float32 or really_native else 123.0))
    peaks = bench.machine_peaks(torch.device("cpu"))
    assert probed == [torch.float32, torch.bfloat16]
    assert isinstance(peaks["matmul_gflops_bf16"], float) and peaks["matmul_gflops_bf16"] > 0
    assert "bf16_emulated" not in peaks and "matmul_gflops_fp16" not in peaks  # fp16 is refused on CPUs
    assert bench.peak_for(peaks, "bf16") == peaks["matmul_gflops_bf16"]
    assert bench.peak_for(peaks, "no") == peaks["matmul_gflops_fp32"]


@pytest.mark.slow
def test_record_keeps_the_timings_as_a_row_and_writes_no_run(tiny_recipe, tmp_path, monkeypatch, capsys):
    from gankit.experiments import records

    monkeypatch.chdir(tmp_path)
    batch = recipe.load(tiny_recipe).trainer.batch_size // 2
    assert main(["bench", str(tiny_recipe), f"trainer.batch_size={batch}", "--steps", "3", "--warmup", "0", "--json",
                 "--record", "tiny_bench"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # the record, and no run
    rec = records.read(tmp_path / "results" / "tiny_bench.json")
    row, = rec.rows
    steps, images, mem = row.values["steps_per_s"], row.values["img_per_s"], row.values["peak_mem_mib"]
    assert steps.label == f"steps/s (fp32, batch {batch})" and images.label == f"images/s (fp32, batch {batch})"
    assert steps.values == pytest.approx([1 / t for t in r["step_times_s"]]) and len(steps.values) == 3
    assert steps.mean == pytest.approx(sum(steps.values) / 3) and steps.sd is not None
    assert images.values == pytest.approx([batch * v for v in steps.values])
    assert mem.mean == r["peak_memory_mib"] and mem.sd is None and "process RSS" in mem.label
    assert row.recipe == records.RecipeRef(str(tiny_recipe), [f"trainer.batch_size={batch}"],
                                           records.file_fingerprint(tiny_recipe, [f"trainer.batch_size={batch}"]))
    assert row.precision == "no" and row.machine["cpu"] == rec.machine["cpu"]
    assert records.stale(row, "/") is None
    assert rec.commands[0].startswith("gankit bench ") and rec.commands[0].endswith("--record tiny_bench")
