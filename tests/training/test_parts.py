"""Building a recipe's parts, and the run length the trainer and `gankit check` share."""
from types import SimpleNamespace

import pytest

from gankit.config import recipe, validate
from gankit.errors import GankitError
from gankit.losses.penalties import R1
from gankit.training.parts import build_parts, run_length


def test_parts_are_built_with_the_data_shape_and_penalties_without_their_interval(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["penalties=[{name: r1, gamma: 2.0, interval: 8}]"])
    parts = build_parts(validate.validated(cfg))
    assert parts.G.img_shape == parts.data.img_shape and parts.G.z_dim > 0
    (part,) = parts.penalties
    pen = part.module
    assert isinstance(pen, R1) and pen.gamma == 2.0
    assert (part.key, part.name, part.interval, part.term) == ("penalties[0]", "r1", 8, "penalty0:r1")
    assert parts.loss.d is not None and parts.augment is None


def test_every_problem_is_refused_before_building(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["generator.name=nope", "penalties=[{name: r1, interval: 0}]"])
    with pytest.raises(GankitError) as e:
        build_parts(validate.validated(cfg))  # the parts are built only from a validated recipe
    keys = [p.split(":")[0] for p in e.value.problems]
    assert "generator.name" in keys and "penalties[0].interval" in keys


@pytest.mark.parametrize("images, batch, d_steps, epochs, max_steps, expected", [
    (1000, 128, 1, 10, None, (7, 70)),    # 7 full batches per epoch (the last 104 images dropped)
    (1000, 128, 2, 10, None, (3, 35)),    # a step takes d_steps batches
    (1000, 128, 1, 10, 5, (7, 5)),        # max_steps wins over epochs
    (100, 128, 1, 3, None, (1, 1)),       # never zero
])
def test_run_length(images, batch, d_steps, epochs, max_steps, expected):
    t = SimpleNamespace(batch_size=batch, d_steps=d_steps, epochs=epochs, max_steps=max_steps)
    assert run_length(images, t) == expected
