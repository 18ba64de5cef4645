"""Schedules for any number: shapes, lengths in steps and kimg, warm-up, what each key sets, bad nodes,
and the values a real run uses and logs."""
import json
import math

import pytest
import torch

from gankit.config import recipe, validate
from gankit.errors import GankitError
from gankit.losses.penalties import ZeroCentred
from gankit.training.ada import ADA
from gankit.training.schedules import Schedules, Target, build_schedule, resolve


def values(node, steps, start=1.0, total=10, ips=100):
    s = build_schedule("optim.g.lr", node, start, total, ips)
    return [s.at(k) for k in steps]


@pytest.mark.parametrize("node, steps, expected", [
    ({"name": "constant"}, [0, 5, 20], [1.0, 1.0, 1.0]),
    ({"name": "linear", "end": 0.0}, [0, 3, 10, 15], [1.0, 0.7, 0.0, 0.0]),
    ({"name": "linear", "start": 2.0, "end": 4.0, "steps": 4}, [0, 1, 4, 9], [2.0, 2.5, 4.0, 4.0]),
    ({"name": "cosine", "end": 0.0}, [0, 5, 10], [1.0, 0.5, 0.0]),
    ({"name": "cosine", "end": 0.5}, [2], [0.5 + 0.5 * 0.5 * (1 + math.cos(math.pi * 0.2))]),
    ({"name": "exponential", "end": 0.01, "steps": 2}, [0, 1, 2, 3], [1.0, 0.1, 0.01, 0.01]),
    # kimg: 100 images per step, so 1 kimg = 10 steps
    ({"name": "linear", "end": 0.0, "kimg": 1}, [0, 5, 10, 30], [1.0, 0.5, 0.0, 0.0]),
    # warm-up from 0 to start over 4 steps, then linear to end over the remaining 6
    ({"name": "linear", "end": 0.4, "warmup": 4}, [0, 2, 4, 7, 10], [0.0, 0.5, 1.0, 0.7, 0.4]),
    ({"name": "constant", "warmup": 0.5, "kimg": 2}, [0, 1, 5, 15], [0.0, 0.2, 1.0, 1.0]),
])
def test_values_at_given_steps(node, steps, expected):
    assert values(node, steps) == pytest.approx(expected, abs=1e-12)


def test_start_defaults_to_the_keys_own_value_and_end_to_start():
    assert values({"name": "cosine"}, [0, 5, 10], start=0.3) == pytest.approx([0.3, 0.3, 0.3])


def test_a_recipe_with_bad_schedules_is_refused_with_every_problem(tiny_recipe):
    with pytest.raises(GankitError) as e:
        validate.load(tiny_recipe, ["schedules={optim.g.lr: {name: cosin}, trainer.seed: {name: linear}}"])
    assert "Did you mean 'cosine'" in str(e.value) and "schedules[trainer.seed]" in str(e.value)


def test_targets_set_optimizers_components_and_the_ema():
    w = torch.nn.Parameter(torch.zeros(2))
    g = torch.optim.Adam([{"params": [w]}, {"params": [torch.nn.Parameter(torch.zeros(1))]}], lr=0.1, betas=(0.5, 0.9))
    d = torch.optim.SGD([w], lr=0.2, momentum=0.5)
    pen = ZeroCentred(gamma=10.0)

    class Ema:
        half_life_kimg = 10.0

    ema = Ema()
    parts = {"penalties": [pen], "augment": None, "loss": None}
    for key, value in [("optim.g.lr", 0.05), ("optim.g.betas[1]", 0.99), ("optim.d.args.momentum", 0.9),
                       ("penalties[0].gamma", 1.5), ("ema.half_life_kimg", 2.0)]:
        resolve(key, {"g": g, "d": d}, parts, ema).set(value)
    assert [grp["lr"] for grp in g.param_groups] == [0.05, 0.05]
    assert [grp["betas"] for grp in g.param_groups] == [(0.5, 0.99), (0.5, 0.99)]
    assert d.param_groups[0]["momentum"] == 0.9 and pen.gamma == 1.5 and ema.half_life_kimg == 2.0
    with pytest.raises(GankitError, match="has no betas"):
        resolve("optim.d.betas[0]", {"g": g, "d": d}, parts, ema)
    with pytest.raises(GankitError, match="no setting 'eps'"):
        resolve("optim.d.args.eps", {"g": g, "d": d}, parts, ema)
    with pytest.raises(GankitError, match="the recipe has no penalty 1"):
        resolve("penalties[1].gamma", {"g": g, "d": d}, parts, ema)
    with pytest.raises(GankitError, match="has no number 'weight'"):
        resolve("penalties[0].weight", {"g": g, "d": d}, parts, ema)
    with pytest.raises(GankitError, match="set ema.enabled=true"):
        resolve("ema.decay", {"g": g, "d": d}, parts, None)
    with pytest.raises(GankitError, match="set augment.target=null"):  # an adaptive p is not also scheduled
        resolve("augment.p", {"g": g, "d": d}, dict(parts, augment=ADA(target=0.6)), ema)
    fixed = ADA(target=None)
    resolve("augment.p", {"g": g, "d": d}, dict(parts, augment=fixed), ema).set(0.25)
    assert fixed.p == 0.25


def test_schedules_apply_every_value_of_a_step():
    box = {"a": 1.0, "b": 5.0}
    targets = {k: Target(lambda k=k: box[k], lambda v, k=k: box.__setitem__(k, v)) for k in box}
    s = Schedules({"a": {"name": "linear", "end": 0.0}, "b": {"name": "linear", "end": 7.0, "steps": 2}},
                  targets, total_steps=4, images_per_step=1)
    assert s.apply(1) == {"a": 0.75, "b": 6.0} and box == {"a": 0.75, "b": 6.0}
    assert s.apply(0) == {"a": 1.0, "b": 5.0}  # a pure function of the step (resume sets the same values)


@pytest.mark.slow
def test_a_run_uses_and_logs_the_scheduled_values(tiny_recipe, tmp_path):
    from gankit.training.trainer import Trainer

    cfg = recipe.load(tiny_recipe, [
        "trainer.max_steps=4", "trainer.batch_size=16", "data.size=64", "trainer.log_every=1",
        "optim.d.lr=0.001", "penalties=[{name: r1, gamma: 2.0}]", "augment={name: ada, target: null}",
        "schedules={optim.g.lr: {name: linear, start: 0.002, end: 0.0}, 'optim.d.betas[1]': {name: linear, "
        "end: 0.9, steps: 2}, 'penalties[0].gamma': {name: cosine, end: 0.0}, augment.p: {name: linear, end: 0.5}}"])
    tr = Trainer(cfg, tmp_path / "run")
    seen = []
    for k in range(4):
        tr.step()
        seen.append((tr.g_opt.param_groups[0]["lr"], tr.d_opt.param_groups[0]["betas"], tr.parts.penalties[0].module.gamma))
        assert tr.parts.augment.p == pytest.approx(0.5 * k / 4)  # start: ADA's own p = 0
        tr.state.step += 1
    for k, (g_lr, betas, gamma) in enumerate(seen):
        assert g_lr == pytest.approx(0.002 * (1 - k / 4))
        assert betas == pytest.approx((0.5, 0.999 + (0.9 - 0.999) * min(k, 2) / 2))
        assert gamma == pytest.approx(0.5 * 2.0 * (1 + math.cos(math.pi * k / 4)))
    assert tr.d_opt.param_groups[0]["lr"] == 0.001  # not scheduled: untouched

    tr = Trainer(cfg, tmp_path / "run2")
    tr.fit()
    rows = [json.loads(line) for line in (tmp_path / "run2" / "metrics.jsonl").read_text().splitlines()]
    assert [r["optim.g.lr"] for r in rows] == pytest.approx([0.002 * (1 - k / 4) for k in range(4)])
    assert [r["augment.p"] for r in rows] == pytest.approx([0.5 * k / 4 for k in range(4)])  # a level, logged as is
    assert "augment.rt" not in rows[0]  # no adaptation: nothing measured
