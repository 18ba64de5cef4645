"""Optimizers: the registry, building from a recipe, plugins adding their own, bad arguments."""
import pytest
import torch

from gankit.config import recipe, validate
from gankit.config.registry import OPTIMIZERS, SCHEDULES
from gankit.errors import GankitError
from gankit.training.optim import build_optimizer


def test_builtin_optimizers_and_schedules_are_registered():
    assert {"adam", "adamw", "sgd"} <= set(OPTIMIZERS.names())
    assert {"constant", "linear", "cosine", "exponential"} <= set(SCHEDULES.names())


def test_build_optimizer_and_schedule_from_the_recipe(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["optim.g.lr=0.01", "optim.g.betas=[0.0,0.9]", "optim.d.name=sgd", "optim.d.args={momentum: 0.5}", "optim.d.lr=0.1"])
    model = torch.nn.Linear(2, 1)
    g = build_optimizer(model, cfg.optim.g, torch.device("cpu"))
    assert isinstance(g, torch.optim.Adam) and g.defaults["betas"] == (0.0, 0.9) and g.defaults["lr"] == 0.01
    assert g.defaults["fused"] is True  # the fused kernel, on a CPU too
    d = build_optimizer(model, cfg.optim.d, torch.device("cpu"))
    assert isinstance(d, torch.optim.SGD) and d.defaults["momentum"] == 0.5 and d.defaults["lr"] == 0.1


def test_the_fused_adam_takes_the_same_steps_as_the_plain_loop(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["optim.g.weight_decay=0.01"])
    torch.manual_seed(0)
    a, b = torch.nn.Linear(64, 32), torch.nn.Linear(64, 32)
    b.load_state_dict(a.state_dict())
    fused = build_optimizer(a, cfg.optim.g, torch.device("cpu"))
    plain = torch.optim.Adam(b.parameters(), lr=cfg.optim.g.lr, betas=tuple(cfg.optim.g.betas), weight_decay=0.01,
                             foreach=False)
    for step in range(5):
        x = torch.randn(16, 64, generator=torch.Generator().manual_seed(step))
        for model, opt in ((a, fused), (b, plain)):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-6)
    assert not torch.equal(a.weight, torch.nn.Linear(64, 32).weight)


def test_unknown_optimizer_suggests_the_closest_and_the_old_schedule_key_says_where_it_went(tiny_recipe):
    with pytest.raises(GankitError) as e:
        validate.load(tiny_recipe, ["optim.g.name=adan", "optim.d.schedule=cosine"])
    msg = str(e.value)
    assert "optim.g.name: unknown optimizer 'adan'. Did you mean 'adam'" in msg
    assert "optim.d.schedule: an lr schedule is one of the recipe's schedules now" in msg
    assert "schedules: {optim.d.lr: {name: linear, end: 0}}" in msg


def test_bad_optimizer_arguments_name_the_args_key(tiny_recipe):
    with pytest.raises(GankitError) as e:
        validate.load(tiny_recipe, ["optim.d.name=sgd", "optim.d.args={momentom: 0.9}", "optim.g.args={lr: 1}"])
    msg = str(e.value)
    assert "optim.d.args.momentom: optimizer 'sgd' has no argument 'momentom'. Did you mean 'momentum'" in msg
    assert "optim.g.args.lr: set optim.g.lr instead" in msg

