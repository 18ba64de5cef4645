"""gankit eval end to end on a tiny trained run."""
import json

import pytest

from gankit.cli import main
from gankit.experiments import records
from gankit.store import machine


@pytest.mark.slow
def test_eval_json_and_table(run_dir, capsys):
    assert main(["eval", str(run_dir), "--num-samples", "300", "--metrics", "fd,mode_coverage", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["num_samples"] == 300 and res["checkpoint"].endswith("step-0000004")
    assert res["fd"] > 0 and 1 <= res["modes"] <= 10 and res["eval_s"] > 0
    assert main(["eval", str(run_dir / "checkpoints" / "step-0000002"), "--num-samples", "300",
                 "--metrics", "fd", "--floor"]) == 0
    out = capsys.readouterr().out
    assert "step-0000002" in out and "real-vs-real floor (5 splits of 128 vs 128)" in out and "elapsed:" in out
    fd_line = next(line for line in out.splitlines() if line.startswith("fd "))
    assert fd_line.startswith("fd (lenet_mnist, 300 vs 256) ")  # the feature space and the counts, never a bare "fd"
    value = float(fd_line.split(") ")[1].split()[0])
    floor, sd = map(float, fd_line.split("floor ")[1].split(" ± "))
    assert floor + sd < value


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


@pytest.mark.slow
def test_eval_record_writes_the_values_floor_recipe_commit_and_machine(run_dir, tmp_path, monkeypatch, capsys):
    from tests.conftest import ROOT

    monkeypatch.chdir(tmp_path)
    tiny = str(ROOT / "tests/recipes/tiny.yaml")
    # not what the run ran (it kept an EMA): refused before any work
    assert main(["eval", str(run_dir), "--num-samples", "300", "--metrics", "fd", "--record", "r", "--recipe", tiny]) == 2
    assert "--recipe: " + tiny + " resolves to fingerprint" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()
    assert main(["eval", str(run_dir), "--num-samples", "300", "--metrics", "fd", "--floor", "--record", "tiny_fd",
                 "--label", "tiny", "--recipe", tiny, "ema.enabled=true"]) == 0
    assert "record: results/tiny_fd.json" in capsys.readouterr().out
    rec = records.read(tmp_path / "results" / "tiny_fd.json")
    (row,) = rec.rows
    assert row.label == "tiny" and row.recipe.overrides == ["ema.enabled=true"] and row.seeds == [0]
    assert row.values["fd"].label == "fd (lenet_mnist, 300 vs 256)" and row.values["fd"].values == [row.values["fd"].mean]
    floor = row.values["floor/fd"]
    assert len(floor.values) == 5 and floor.sd > 0 and floor.label == "floor fd (lenet_mnist, 128 vs 128), 5 splits"
    assert records.stale(row, "/") is None and row.machine["cpu"] and rec.machine["torch"]
    assert rec.commands[0].startswith("gankit eval ") and "--record tiny_fd" in rec.commands[0]
    # the commit the run trained at (its machine.json), not the working folder's (no git repository here)
    assert rec.commit == row.machine["commit"] == machine.source_commit() and len(rec.commit["sha"]) == 40
