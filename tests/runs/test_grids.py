"""Grid PNGs and animated GIFs of generated images."""
import numpy as np
import pytest
import torch
from PIL import Image

from gankit.runs.grids import columns, frames_uint8, save_gif, save_grid, tile


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


@pytest.mark.parametrize("n, channels, nrow", [(7, 1, 3), (5, 3, 2), (1, 1, 8), (4, 3, 8)])
def test_grids_are_torchvisions_pixel_for_pixel(n, channels, nrow, tmp_path):
    from torchvision.utils import make_grid, save_image

    images = torch.randn(n, channels, 9, 7, generator=torch.Generator().manual_seed(n)) * 1.3  # some beyond ±1
    save_image(images, tmp_path / "tv.png", nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
    save_grid(images, tmp_path / "gk.png", nrow)
    assert np.array_equal(np.array(Image.open(tmp_path / "tv.png")), np.array(Image.open(tmp_path / "gk.png")))
    unit = (images.clamp(-1, 1) + 1) / 2
    assert torch.equal(tile(unit, nrow, 3, 1.0), make_grid(unit, nrow=nrow, padding=3, pad_value=1.0))
