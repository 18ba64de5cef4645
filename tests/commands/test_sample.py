"""gankit sample end to end: PNG grids, NPZ arrays, labels of class-conditional generators."""
import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.runs.inference import load_generator, sample


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
