"""Sample grids: their paths in a run, torchvision's grid pixel for pixel, written atomically."""
import numpy as np
import pytest
import torch
from PIL import Image

from gankit.store.grids import grid_path, grid_step, grids, save_grid, tile, write_grid


def test_grid_paths_round_trip_and_sort_by_step(tmp_path):
    assert grid_path(tmp_path, 123) == tmp_path / "samples" / "step-0000123.png"
    assert grid_step(grid_path(tmp_path, 123)) == 123 and grid_step("notes.png") is None
    (tmp_path / "samples").mkdir()
    for step in (20, 3, 100):
        grid_path(tmp_path, step).write_bytes(b"")
    (tmp_path / "samples" / "other.png").write_bytes(b"")
    assert [grid_step(p) for p in grids(tmp_path)] == [3, 20, 100]
    assert grids(tmp_path / "missing") == []



def test_write_grid_puts_the_png_at_its_step_and_leaves_no_temporary(tmp_path):
    (tmp_path / "samples").mkdir()
    path = write_grid(tmp_path, 7, torch.zeros(4, 3, 5, 5), 2)
    assert path == grid_path(tmp_path, 7) and Image.open(path).size == (2 * 7 + 2, 2 * 7 + 2)
    assert [p.name for p in (tmp_path / "samples").iterdir()] == ["step-0000007.png"]


@pytest.mark.parametrize("n, channels, nrow", [(7, 1, 3), (5, 3, 2), (1, 1, 8), (4, 3, 8)])
def test_grids_are_torchvisions_pixel_for_pixel(n, channels, nrow, tmp_path):
    from torchvision.utils import make_grid, save_image

    images = torch.randn(n, channels, 9, 7, generator=torch.Generator().manual_seed(n)) * 1.3  # some beyond ±1
    save_image(images, tmp_path / "tv.png", nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
    save_grid(images, tmp_path / "gk.png", nrow)
    assert np.array_equal(np.array(Image.open(tmp_path / "tv.png")), np.array(Image.open(tmp_path / "gk.png")))
    unit = (images.clamp(-1, 1) + 1) / 2
    assert torch.equal(tile(unit, nrow, 3, 1.0), make_grid(unit, nrow=nrow, padding=3, pad_value=1.0))
