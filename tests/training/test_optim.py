"""Optimizers and learning-rate schedules: registries, building from a recipe, plugins adding their own;
schedule factors at given steps, and the lr the trainer's optimizers actually use."""
import math

import pytest
import torch

from gankit.config import recipe, validate
from gankit.config.registry import OPTIMIZERS, SCHEDULES
from gankit.errors import GankitError
from gankit.training.optim import build_optimizer, build_schedule, lr_factor
from gankit.training.trainer import Trainer


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
    for name in SCHEDULES.names():
        assert lr_factor(name, 0, 100) == 1.0
        assert all(lr_factor(name, s, 100) >= 0 for s in range(0, 150, 7))


def test_unknown_schedule_is_a_recipe_error(tiny_recipe):
    with pytest.raises(GankitError, match="optim.g.schedule"):
        validate.load(tiny_recipe, ["optim.g.schedule=exponential"])


@pytest.mark.slow
def test_optimizer_lr_follows_schedule_in_a_four_step_run(tiny_recipe, tmp_path):
    cfg = recipe.load(tiny_recipe, ["optim.g.schedule=linear_decay", "optim.d.schedule=cosine",
                                    "optim.g.lr=0.002", "optim.d.lr=0.001", "trainer.max_steps=4",
                                    "trainer.batch_size=16", "data.size=64"])
    tr = Trainer(cfg, tmp_path / "run")
    assert tr.max_steps == 4
    seen = []
    for step in range(4):
        seen.append((tr.g_opt.param_groups[0]["lr"], tr.d_opt.param_groups[0]["lr"]))
        tr.step()
        tr.state.step += 1
    seen.append((tr.g_opt.param_groups[0]["lr"], tr.d_opt.param_groups[0]["lr"]))
    for k, (g_lr, d_lr) in enumerate(seen):
        assert g_lr == pytest.approx(0.002 * (1 - k / 4))
        assert d_lr == pytest.approx(0.001 * 0.5 * (1 + math.cos(math.pi * k / 4)))



def test_builtin_optimizers_and_schedules_are_registered():
    assert {"adam", "adamw", "sgd"} <= set(OPTIMIZERS.names())
    assert {"constant", "linear_decay", "cosine"} <= set(SCHEDULES.names())


def test_build_optimizer_and_schedule_from_the_recipe(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["optim.g.lr=0.01", "optim.g.betas=[0.0,0.9]", "optim.g.schedule=linear_decay",
                                    "optim.d.name=sgd", "optim.d.args={momentum: 0.5}", "optim.d.lr=0.1"])
    model = torch.nn.Linear(2, 1)
    g = build_optimizer(model, cfg.optim.g, torch.device("cpu"))
    assert isinstance(g, torch.optim.Adam) and g.defaults["betas"] == (0.0, 0.9) and g.defaults["lr"] == 0.01
    assert g.defaults["foreach"] is True  # on a CPU: foreach, not fused
    d = build_optimizer(model, cfg.optim.d, torch.device("cpu"))
    assert isinstance(d, torch.optim.SGD) and d.defaults["momentum"] == 0.5 and d.defaults["lr"] == 0.1
    sched = build_schedule(g, cfg.optim.g, 4)
    assert isinstance(sched, torch.optim.lr_scheduler.LambdaLR)
    g.step()
    sched.step()
    assert g.param_groups[0]["lr"] == pytest.approx(0.01 * 0.75)


def test_unknown_optimizer_and_schedule_suggest_the_closest(tiny_recipe):
    with pytest.raises(GankitError) as e:
        validate.load(tiny_recipe, ["optim.g.name=adan", "optim.d.schedule=cosin"])
    msg = str(e.value)
    assert "optim.g.name: unknown optimizer 'adan'. Did you mean 'adam'" in msg
    assert "optim.d.schedule: unknown schedule 'cosin'. Did you mean 'cosine'" in msg


def test_bad_optimizer_arguments_name_the_args_key(tiny_recipe):
    with pytest.raises(GankitError) as e:
        validate.load(tiny_recipe, ["optim.d.name=sgd", "optim.d.args={momentom: 0.9}", "optim.g.args={lr: 1}"])
    msg = str(e.value)
    assert "optim.d.args.momentom: optimizer 'sgd' has no argument 'momentom'. Did you mean 'momentum'" in msg
    assert "optim.g.args.lr: set optim.g.lr instead" in msg

