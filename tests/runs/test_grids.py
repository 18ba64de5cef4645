"""Animated GIFs of generated images and the columns of a grid (the grid PNG itself: tests/store/test_grids.py)."""
import torch
from PIL import Image

from gankit.runs.grids import columns, frames_uint8, save_gif
from gankit.store.grids import save_grid


def test_columns_follow_classes_or_make_a_square():
    assert columns(16) == 4 and columns(10) == 3
    assert columns(20, torch.arange(20) % 10) == 10


def test_grid_and_gif_sizes(tmp_path):
    images = torch.linspace(-1, 1, 6 * 28 * 28).reshape(6, 1, 28, 28)
    save_grid(images, tmp_path / "g.png", 3)
    assert Image.open(tmp_path / "g.png").size == (3 * 30 + 2, 2 * 30 + 2)
    gif = Image.open(save_gif(images, tmp_path / "w.gif"))
    assert gif.n_frames == 6 and gif.size == (140, 140)  # 28 px enlarged ×5 to reach 128
    assert frames_uint8(images)[0].shape == (140, 140, 1)
    assert frames_uint8(images.expand(-1, 3, -1, -1), min_side=28)[0].shape == (28, 28, 3)
