"""gankit.runs.mixing: style-mixing grids of a stylegan2 generator."""
from pathlib import Path

import pytest
import torch

from gankit.config.registry import GENERATORS
from gankit.errors import GankitError
from gankit.metrics.draws import latents
from gankit.runs.mixing import mixing_seeds, style_mixing_grid, write_mixing_grid

TINY = {"name": "stylegan2", "z_dim": 8, "w_dim": 8, "mapping_layers": 1, "channel_base": 64, "channel_max": 8}


def tiny_g(num_classes=None):
    torch.manual_seed(0)
    return GENERATORS.build(TINY, "generator", {"img_shape": (1, 16, 16), "num_classes": num_classes})


def test_cells_take_the_first_cutoff_ws_from_the_column_seed():
    G = tiny_g()
    rows, cols, k = [3, 4], [7, 8, 9], 2
    images, nrow = style_mixing_grid(G, rows, cols, cutoff=k)
    assert nrow == 4 and images.shape == (3 * 4, 1, 16, 16)
    assert torch.equal(images[0], torch.full((1, 16, 16), -1.0))  # the blank corner
    G.eval()

    def w(seed):
        return G.mapping(latents(1, G.z_dim, seed))[0]

    def image(ws):
        return G.synthesis(ws[None], noise_mode="const")[0].clamp(-1, 1)

    for j, c in enumerate(cols):  # the top row: the column seeds' own images
        assert torch.allclose(images[1 + j], image(w(c)), atol=1e-5)
    for i, r in enumerate(rows):
        assert torch.allclose(images[(i + 1) * 4], image(w(r)), atol=1e-5)  # the left column
        for j, c in enumerate(cols):
            mixed = torch.cat([w(c)[:k], w(r)[k:]])
            assert torch.allclose(images[(i + 1) * 4 + 1 + j], image(mixed), atol=1e-5)


def test_cutoff_zero_is_the_row_image_and_all_is_the_column_image():
    G = tiny_g()
    none, _ = style_mixing_grid(G, [1], [2], cutoff=0)
    every, _ = style_mixing_grid(G, [1], [2], cutoff=G.num_ws)
    assert torch.allclose(none[3], none[2]) and torch.allclose(every[3], every[1])
    with pytest.raises(GankitError, match="cutoff"):
        style_mixing_grid(G, [1], [2], cutoff=G.num_ws + 1)


def test_conditional_generators_and_seeds_and_files(tmp_path):
    G = tiny_g(10)
    images, nrow = style_mixing_grid(G, [0], [1, 2], label=3)
    assert nrow == 3 and images.shape[0] == 6
    assert mixing_seeds(64, 5) == (list(range(5, 13)), list(range(13, 21)))
    line = write_mixing_grid(G, tmp_path / "mix.png", 4, 0)
    assert (tmp_path / "mix.png").is_file() and "2×2 style-mixing grid" in line
    with pytest.raises(GankitError, match="PNG"):
        write_mixing_grid(G, tmp_path / "mix.npz", 4, 0)


def test_a_generator_without_styles_is_refused():
    G = GENERATORS.build({"name": "mlp", "hidden": [8]}, "generator", {"img_shape": (1, 8, 8)})
    with pytest.raises(GankitError, match="style-based"):
        style_mixing_grid(G, [0], [1])


def test_gankit_sample_mix_writes_the_grid_of_a_trained_run(tmp_path, capsys):
    from gankit.cli import main

    recipe = Path(__file__).resolve().parents[1] / "reliability" / "recipes" / "stylegan2.yaml"
    run = tmp_path / "run"
    assert main(["train", str(recipe), "trainer.max_steps=2", "--out", str(run)]) == 0
    out = tmp_path / "mix.png"
    assert main(["sample", str(run), "--mix", "3", "--num", "9", "--seed", "5", "--label", "2", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert out.is_file() and "3×3 style-mixing grid" in said and "seeds 5..7" in said and "first 3 of 6" in said  # 16×16: 6 copies of w
