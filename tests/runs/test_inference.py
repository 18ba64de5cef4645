"""Generators from trained runs: load_generator (run dir or checkpoint, EMA or not) and sample."""
import shutil

import pytest
import torch

from gankit.cli import main
from gankit.errors import GankitError
from gankit.runs.files import EMA_FILE
from gankit.runs.inference import load_generator, sample


@pytest.mark.slow
def test_load_generator_run_vs_checkpoint_and_errors(run_dir, tmp_path):
    ck = run_dir / "checkpoints" / "step-0000004"
    a, b = sample(load_generator(run_dir), 4, 0), sample(load_generator(ck), 4, 0)
    assert torch.equal(a, b) and a.abs().max() <= 1
    assert not torch.equal(a, sample(load_generator(ck, ema=False), 4, 0))  # EMA weights differ
    with pytest.raises(GankitError, match="no such run or checkpoint"):
        load_generator(tmp_path / "nope")
    bad = tmp_path / "run"
    shutil.copytree(run_dir, bad)
    (bad / "checkpoints" / "step-0000004" / EMA_FILE).write_bytes(b"not tensors")
    with pytest.raises(GankitError, match="cannot load the generator from ema.safetensors"):
        load_generator(bad)
    assert main(["sample", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png")]) == 2
