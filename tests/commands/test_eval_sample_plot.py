"""gankit eval / sample / plot end to end on a tiny trained run."""
import json
import shutil

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.errors import GankitError
from gankit.runs.inference import load_generator, sample


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from tests.conftest import ROOT

    out = tmp_path_factory.mktemp("tiny") / "run"
    assert main(["train", str(ROOT / "tests/recipes/tiny.yaml"), "trainer.eval_every=null", "ema.enabled=true",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))


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
def test_sample_png_and_npz(run_dir, tmp_path):
    from PIL import Image

    assert main(["sample", str(run_dir), "--num", "16", "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size == (4 * 30 + 2, 4 * 30 + 2)
    assert main(["sample", str(run_dir), "--num", "5", "--seed", "3", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (5, 1, 28, 28) and images.dtype == np.uint8
    G = load_generator(run_dir)
    again = sample(G, 5, seed=3).add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    assert np.array_equal(images, again)


@pytest.mark.slow
def test_sample_conditional_generator_by_label(run_dir, tmp_path, capsys):
    from PIL import Image

    from tests.conftest import ROOT

    run = tmp_path / "cond"
    assert main(["train", str(ROOT / "tests/recipes/tiny.yaml"), "trainer.max_steps=2", "generator.name=conditional",
                 "discriminator.name=projection", "discriminator.body=dcgan_mnist", "--out", str(run)]) == 0
    assert main(["sample", str(run), "--num", "20", "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size == (10 * 30 + 2, 2 * 30 + 2)  # one column per class
    assert main(["sample", str(run), "--num", "6", "--label", "3", "7", "--out", str(tmp_path / "s.npz")]) == 0
    npz = np.load(tmp_path / "s.npz")
    assert npz["labels"].tolist() == [3, 7, 3, 7, 3, 7]
    again = sample(load_generator(run), 6, 0, torch.tensor([3, 7, 3, 7, 3, 7]))
    assert np.array_equal(npz["images"], again.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).numpy())
    capsys.readouterr()
    assert main(["sample", str(run), "--label", "10", "--out", str(tmp_path / "x.png")]) == 2
    assert "--label: [10] outside this generator's classes 0..9" in capsys.readouterr().err
    assert main(["sample", str(run_dir), "--label", "1", "--out", str(tmp_path / "x.png")]) == 2
    assert "not class-conditional" in capsys.readouterr().err


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
    (bad / "checkpoints" / "step-0000004" / "ema.safetensors").write_bytes(b"not tensors")
    with pytest.raises(GankitError, match="cannot load the generator from ema.safetensors"):
        load_generator(bad)
    assert main(["sample", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png")]) == 2


@pytest.mark.slow
def test_plot_losses_and_eval_rows(run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    rows = (run_dir / "metrics.jsonl").read_text() + json.dumps({"step": 4, "eval/fd": 12.5, "eval/eval_s": 1.0})
    (run / "metrics.jsonl").write_text(rows + "\n{\"step\": 5, \"d_lo")  # a half-written last line
    assert main(["plot", str(run)]) == 0
    assert (run / "curves.png").stat().st_size > 1000
    from gankit.runs.curves import read_rows

    assert len(read_rows(run / "metrics.jsonl")) == 3
    assert main(["plot", str(tmp_path / "empty")]) == 2
    assert "metrics.jsonl not found" in capsys.readouterr().err


@pytest.mark.slow
def test_trainer_logs_eval_rows(tmp_path):
    from tests.conftest import ROOT

    out = tmp_path / "run"
    assert main(["train", str(ROOT / "tests/recipes/tiny.yaml"), "trainer.eval_every=4", "eval.num_samples=200",
                 "trainer.checkpoint_every=4", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval/fd" in r]
    assert len(evals) == 1 and evals[0]["step"] == 4
    assert {"eval/fd", "eval/classifier_score", "eval/modes", "eval/modes_kl"} <= set(evals[0])
