"""gankit eval end to end on a tiny trained run."""
import json

import pytest

from gankit.cli import main


@pytest.mark.slow
def test_eval_json_and_table(run_dir, capsys):
    assert main(["eval", str(run_dir), "--num-samples", "300", "--metrics", "fd,mode_coverage", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["num_samples"] == 300 and res["checkpoint"].endswith("step-0000004")
    assert res["fd"] > 0 and 1 <= res["modes"] <= 10 and res["eval_s"] > 0
    assert main(["eval", str(run_dir / "checkpoints" / "step-0000002"), "--num-samples", "300",
                 "--metrics", "fd", "--floor"]) == 0
    out = capsys.readouterr().out
    assert "step-0000002" in out and "real floor (n=128)" in out and "elapsed:" in out
    fd_line = next(line for line in out.splitlines() if line.startswith("fd "))
    value, floor = map(float, fd_line.split()[1:])
    assert floor < value


@pytest.mark.slow
def test_eval_validates_the_stored_recipe_once_without_the_training_settings(run_dir, validation_calls, capsys):
    assert main(["eval", str(run_dir), "--num-samples", "100", "--metrics", "fd", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_samples"] == 100
    assert validation_calls["validate"] == 1 and validation_calls["settings"] == 0


@pytest.mark.slow
def test_eval_runs_a_paper_preset_by_name_from_local_weights_only(run_dir, tmp_path, monkeypatch, capsys):
    from gankit.metrics import presets

    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert main(["eval", str(run_dir), "--metrics", "fid50k_full"]) == 2  # no Inception weights here
    assert "weights-inception-2015-12-05-6726825d.pth" in capsys.readouterr().err
    monkeypatch.setattr(presets.Preset, "num_samples", 64)  # 50,000 in earnest
    assert main(["eval", str(run_dir), "--metrics", "fid50k_full,is50k", "--features", "lenet_mnist",
                 "--num-samples", "10", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["num_samples"] == 64 and res["fid50k_full"] > 0 and 1 <= res["is50k_mean"] <= 10
