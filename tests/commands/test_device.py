"""--device auto: eval, sample and neighbours take the GPU when there is one, else the CPU."""
import numpy as np
import pytest
import torch

from gankit.cli import build_parser, main
from gankit.errors import GankitError
from gankit.runs.inference import resolve_device


@pytest.mark.parametrize("verb", ["eval", "sample", "neighbours"])
def test_the_default_device_is_auto(verb):
    args = build_parser().parse_args([verb, "RUN", "--out", "x.png"] if verb != "eval" else [verb, "RUN"])
    assert args.device == "auto"


def test_auto_is_cuda_only_when_cuda_is_available(monkeypatch):
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("CPU") == "cpu"
    with pytest.raises(GankitError, match="no usable CUDA GPU.*--device cpu"):
        resolve_device("cuda:0")
    with pytest.raises(GankitError, match="'gpu' is not a device"):
        resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:1") == "cuda:1"


def test_sample_with_auto_and_an_explicit_cpu_draw_the_same_images(run_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # auto must resolve to the CPU here
    assert main(["sample", str(run_dir), "--num", "4", "--out", str(tmp_path / "auto.npz")]) == 0
    assert main(["sample", str(run_dir), "--num", "4", "--device", "cpu", "--out", str(tmp_path / "cpu.npz")]) == 0
    a, b = (np.load(tmp_path / f"{d}.npz")["images"] for d in ("auto", "cpu"))
    assert a.shape == (4, 1, 28, 28) and np.array_equal(a, b)
    assert main(["sample", str(run_dir), "--num", "4", "--device", "cuda", "--out", str(tmp_path / "x.npz")]) == 2
