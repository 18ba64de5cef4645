"""Seed lists and spherical interpolation between seeds."""
import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.draws import latents
from gankit.runs.explore import interpolation_latents, parse_seeds, path_frames, seed_latents, slerp


def test_parse_seeds_reads_seeds_ranges_and_lists():
    assert parse_seeds("5") == [5]
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0-2, 7,9-9") == [0, 1, 2, 7, 9]


@pytest.mark.parametrize("text, message", [("3-1", "ends before it starts"), ("a", "not a seed"), ("-2", "not a seed"),
                                           ("1.5", "not a seed"), ("", "not a seed"), ("0-99999", "more than")])
def test_parse_seeds_refuses_bad_text(text, message):
    with pytest.raises(GankitError, match=message):
        parse_seeds(text)


def test_seed_latents_are_one_draw_per_seed():
    z = seed_latents([4, 9], 16)
    assert torch.equal(z[0], latents(1, 16, 4)[0]) and torch.equal(z[1], latents(1, 16, 9)[0])


def test_slerp_ends_at_both_latents_and_keeps_the_radius():
    a, b = latents(2, 64, 0)
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    radii = path.double().norm(dim=1)
    assert torch.allclose(radii, torch.linspace(float(a.norm()), float(b.norm()), 5, dtype=torch.float64), atol=1e-4)
    mid = (a + b) / 2  # the straight line sags inside the sphere; the arc does not
    assert path[2].norm() > mid.norm() * 1.2
    assert torch.isfinite(slerp(a, -a, torch.linspace(0, 1, 3))).all()  # antipodes: no unique arc, no nan


def test_interpolation_rows_and_the_walk_through_them():
    rows = interpolation_latents([0, 1, 2], 4, 8)
    assert rows.shape == (2, 4, 8)
    assert torch.allclose(rows[0, -1], rows[1, 0])  # row i ends where row i + 1 starts
    assert torch.equal(rows, interpolation_latents([0, 1, 2], 4, 8))  # a function of the seeds alone
    walk = path_frames(rows)
    assert walk.shape == (7, 8) and torch.equal(walk[3], rows[0, 3]) and torch.equal(walk[4], rows[1, 1])
    with pytest.raises(GankitError, match="at least two seeds"):
        interpolation_latents([3], 4, 8)
    with pytest.raises(GankitError, match="at least 2"):
        interpolation_latents([0, 1], 1, 8)
