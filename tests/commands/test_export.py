"""gankit export end to end: the model folder, TorchScript and ONNX files, each checked; errors."""
import json

import pytest
import torch

from gankit.cli import main
from gankit.runs.inference import load_generator, sample
from gankit.runs.portable import read_file_config, run_file
from gankit.runs.signature import example_inputs


@pytest.mark.slow
def test_export_folder_then_files_each_checked(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), str(tmp_path / "model")]) == 0
    out = capsys.readouterr().out
    assert "wrote model folder" in out and "max abs difference vs PyTorch on 8 samples (seed 0): 0" in out
    assert torch.equal(sample(load_generator(tmp_path / "model"), 4), sample(load_generator(run_dir), 4))
    assert main(["export", str(run_dir), str(tmp_path / "g"), "--format", "torchscript"]) == 0
    assert "max abs difference vs PyTorch on 8 samples (seed 0): 0" in capsys.readouterr().out
    G = load_generator(run_dir)
    z = example_inputs(G, 3)
    with torch.no_grad():
        assert torch.equal(run_file(tmp_path / "g.pt", "torchscript", z), G(*z))
    assert read_file_config(tmp_path / "g.pt", "torchscript")["z_dim"] == 96
    assert main(["export", str(run_dir), str(tmp_path / "g.onnx"), "--format", "onnx", "--raw"]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("check:")][0]
    assert float(line.rsplit(" ", 1)[1]) < 1e-4
    assert read_file_config(tmp_path / "g.onnx", "onnx")["weights"] == "raw"


def test_export_errors_exit_2(run_dir, tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    (tmp_path / "g.pt").write_text("x")
    cases = [
        (["export", str(run_dir), str(tmp_path / "taken")], "exists and is not empty"),
        (["export", str(run_dir), str(tmp_path / "g.pt"), "--format", "torchscript"], "exists. Choose another name"),
        (["export", str(run_dir), str(tmp_path / "no" / "g.onnx"), "--format", "onnx"], "does not exist"),
        (["export", str(run_dir), str(tmp_path / "g.onnx"), "--format", "onnx", "--push", "u/r"], "--push: uploads"),
        (["export", str(run_dir), str(tmp_path / "m"), "--atol", "-1"], "--atol: must be ≥ 0"),
        (["export", str(tmp_path / "nope"), str(tmp_path / "m")], "no such run or checkpoint"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv


def test_push_offline_is_refused_with_advice(run_dir, tmp_path, capsys, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["export", str(run_dir), str(tmp_path / "m"), "--push", "someone/model"]) == 2
    assert "HF_HUB_OFFLINE=1 forbids uploads" in capsys.readouterr().err
    assert json.loads((tmp_path / "m" / "config.json").read_text())["z_dim"] == 96  # the export itself is kept
