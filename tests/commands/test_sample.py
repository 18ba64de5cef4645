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


# -- exploring: seed lists, truncation, interpolation ------------------------------------------
from gankit.metrics.draws import latents  # noqa: E402
from gankit.runs.inference import generate  # noqa: E402


@pytest.mark.slow
def test_sample_seed_lists_and_truncation(run_dir, tmp_path):
    assert main(["sample", str(run_dir), "--seed", "0-7", "--out", str(tmp_path / "s.npz")]) == 0
    npz = np.load(tmp_path / "s.npz")
    assert npz["images"].shape == (8, 1, 28, 28) and npz["seeds"].tolist() == list(range(8))
    G = load_generator(run_dir)
    one = generate(G, latents(1, G.z_dim, 5)).add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    assert np.array_equal(npz["images"][5], one[0])  # image k is seed k alone
    assert main(["sample", str(run_dir), "--num", "4", "--truncation", "0", "--out", str(tmp_path / "t.npz")]) == 0
    t = np.load(tmp_path / "t.npz")["images"]
    assert all(np.array_equal(t[0], t[i]) for i in range(4))  # ψ = 0: every sample is the mean latent's
    for name in ("a", "b"):
        assert main(["sample", str(run_dir), "--num", "4", "--seed", "2", "--truncation", "0.6",
                     "--out", str(tmp_path / f"{name}.npz")]) == 0
    assert np.array_equal(np.load(tmp_path / "a.npz")["images"], np.load(tmp_path / "b.npz")["images"])


@pytest.mark.slow
def test_sample_interpolation_grid_and_gif(run_dir, tmp_path, capsys):
    from PIL import Image

    assert main(["sample", str(run_dir), "--seed", "0-3", "--interpolate", "5", "--out", str(tmp_path / "w.png")]) == 0
    assert "3 × 5 interpolation images" in capsys.readouterr().out
    assert Image.open(tmp_path / "w.png").size == (5 * 30 + 2, 3 * 30 + 2)  # a row per pair of seeds
    gif = Image.open(tmp_path / "w.gif")
    assert gif.n_frames == 3 * 5 - 2 and gif.size == (140, 140)
    for name in ("a", "b"):
        assert main(["sample", str(run_dir), "--seed", "4,9", "--interpolate", "3",
                     "--out", str(tmp_path / f"{name}.npz")]) == 0
    a, b = np.load(tmp_path / "a.npz")["images"], np.load(tmp_path / "b.npz")["images"]
    assert a.shape == (3, 1, 28, 28) and np.array_equal(a, b)
    assert main(["sample", str(run_dir), "--seed", "4,9", "--out", str(tmp_path / "s.npz")]) == 0
    s = np.load(tmp_path / "s.npz")["images"]
    assert np.array_equal(a[0], s[0]) and np.array_equal(a[-1], s[1])  # the walk starts and ends at the seeds


def test_sample_explore_errors_exit_2(run_dir, tmp_path, capsys):
    out = str(tmp_path / "x.png")
    for argv, message in [
        (["--seed", "3-1"], "--seed: the range '3-1' ends before it starts"),
        (["--seed", "x"], "--seed: 'x' is not a seed"),
        (["--truncation", "1.5"], "--truncation: ψ must be a number from 0 to 1"),
        (["--truncation", "half"], "--truncation: ψ must be a number from 0 to 1"),
        (["--interpolate", "4"], "--interpolate: needs at least two seeds"),
        (["--interpolate", "1", "--seed", "0-2"], "--interpolate: 1 images per pair"),
        (["--num", "5", "--seed", "0-7"], "--num: --seed 0-7 gives one image per seed (8)"),
        (["--num", "0"], "--num: must be ≥ 1"),
    ]:
        assert main(["sample", str(run_dir), "--out", out, *argv]) == 2, argv
        assert message in capsys.readouterr().err, argv
