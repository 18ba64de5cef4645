import json

from gankit.cli import main


def test_bench_reports_step_split_flops_and_memory(tiny_recipe, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", str(tiny_recipe), "--steps", "3", "--warmup", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["ms_per_step"] > 0 and r["images_per_s"] > 0
    assert abs(r["images_per_s"] - 32 / (r["ms_per_step"] / 1e3)) < 1.0
    assert abs(sum(r["split"].values()) - 1.0) < 0.02 and 0 < r["split"]["d_step"] < 1
    # the reference D+G at batch 32: G forward is shared by both phases; a few GFLOP per step
    assert 3.0 < r["gflop_per_step"] < 8.0
    assert r["peak_memory_mib"] > 0 and r["matmul_gflops_fp32"] > 0
    assert not list(tmp_path.iterdir())  # no run written
