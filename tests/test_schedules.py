"""Learning-rate schedules: factors at given steps, and the lr the trainer's optimizers actually use."""
import math

import pytest

from gankit.config import recipe
from gankit.errors import GankitError
from gankit.training.schedules import SCHEDULES, lr_factor


@pytest.mark.parametrize("name, step, total, expected", [
    ("constant", 0, 10, 1.0), ("constant", 7, 10, 1.0),
    ("linear_decay", 0, 10, 1.0), ("linear_decay", 3, 10, 0.7), ("linear_decay", 10, 10, 0.0),
    ("linear_decay", 15, 10, 0.0),
    ("cosine", 0, 10, 1.0), ("cosine", 5, 10, 0.5), ("cosine", 10, 10, 0.0), ("cosine", 12, 10, 0.0),
    ("cosine", 2, 8, 0.5 * (1 + math.cos(math.pi / 4))),
])
def test_factor_at_step(name, step, total, expected):
    assert lr_factor(name, step, total) == pytest.approx(expected, abs=1e-12)


def test_all_schedules_start_at_full_lr_and_never_go_negative():
    for name in SCHEDULES:
        assert lr_factor(name, 0, 100) == 1.0
        assert all(lr_factor(name, s, 100) >= 0 for s in range(0, 150, 7))


def test_unknown_schedule_is_a_recipe_error(tiny_recipe):
    with pytest.raises(GankitError, match="optim.g.schedule"):
        recipe.load(tiny_recipe, ["optim.g.schedule=exponential"])


@pytest.mark.slow
def test_optimizer_lr_follows_schedule_in_a_four_step_run(tiny_recipe, tmp_path):
    from gankit.training.trainer import Trainer

    cfg = recipe.load(tiny_recipe, ["optim.g.schedule=linear_decay", "optim.d.schedule=cosine",
                                    "optim.g.lr=0.002", "optim.d.lr=0.001", "trainer.max_steps=4",
                                    "trainer.batch_size=16", "data.size=64"])
    tr = Trainer(cfg, tmp_path / "run")
    assert tr.max_steps == 4
    seen = []
    for step in range(4):
        seen.append((tr.g_opt.param_groups[0]["lr"], tr.d_opt.param_groups[0]["lr"]))
        tr.iteration()
        tr.state.step += 1
    seen.append((tr.g_opt.param_groups[0]["lr"], tr.d_opt.param_groups[0]["lr"]))
    for k, (g_lr, d_lr) in enumerate(seen):
        assert g_lr == pytest.approx(0.002 * (1 - k / 4))
        assert d_lr == pytest.approx(0.001 * 0.5 * (1 + math.cos(math.pi * k / 4)))
