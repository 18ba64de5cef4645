"""SPACE.yaml parsing, its errors, and the overrides a configuration becomes."""
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from gankit.config import validate
from gankit.errors import GankitError
from gankit.experiments import space

ROOT = Path(__file__).resolve().parents[2]
R1 = ROOT / "recipes" / "mnist_dcgan_r1.yaml"


def test_a_full_space_parses_into_params_seeds_and_objective():
    sp = space.parse({"params": {"lr": {"keys": ["optim.g.lr", "optim.d.lr"], "choices": [1e-4, 1e-3]},
                                 "penalties.0.gamma": [0.1, 1.0, 10.0]},
                      "seeds": 3, "objective": {"metric": "kid", "direction": "minimize", "take": "best"},
                      "pruner": "halving", "heartbeat": 5})
    assert [p.name for p in sp.params] == ["lr", "penalties.0.gamma"]
    assert sp.params[0].keys == ["optim.g.lr", "optim.d.lr"] and sp.seeds == [0, 1, 2]
    assert (sp.metric, sp.direction, sp.take, sp.pruner, sp.heartbeat, sp.sampler) == \
        ("kid", "minimize", "best", "halving", 5, "grid")
    assert len(sp.grid()) == 6 and sp.grid()[0] == {"lr": 1e-4, "penalties.0.gamma": 0.1}
    assert sp.assignment({"lr": 1e-3, "penalties.0.gamma": 10.0}) == \
        {"optim.g.lr": 1e-3, "optim.d.lr": 1e-3, "penalties.0.gamma": 10.0}


def test_ranges_become_optuna_distributions():
    import optuna.distributions as d

    sp = space.parse({"params": {"optim.g.lr": {"low": 1e-5, "high": 1e-2, "log": True},
                                 "trainer.batch_size": {"int": [16, 128]}, "loss.name": {"choices": ["hinge"]}},
                      "sampler": "tpe", "trials": 7, "seeds": [3, 5]})
    a, b, c = (p.distribution() for p in sp.params)
    assert isinstance(a, d.FloatDistribution) and a.log and (a.low, a.high) == (1e-5, 1e-2)
    assert isinstance(b, d.IntDistribution) and (b.low, b.high) == (16, 128)
    assert isinstance(c, d.CategoricalDistribution) and c.choices == ("hinge",)
    assert sp.seeds == [3, 5] and sp.trials == 7


def test_no_params_and_several_seeds_is_one_configuration_over_seeds():
    sp = space.parse({"seeds": 3, "objective": {"metric": "fd"}})
    assert sp.params == [] and sp.grid() == [{}] and sp.seeds == [0, 1, 2] and sp.assignment({}) == {}


@pytest.mark.parametrize("raw, words", [
    ({"params": {}}, "params: give at least one"),
    ({"seeds": 3, "sampler": "random", "trials": 2}, "or `seeds: N` (N ≥ 2) with the grid sampler"),
    ({"params": [1, 2], "seeds": 2}, "params: give a mapping"),
    ({"params": {"a.b": {"low": 1, "high": 2}}}, "params.a.b: a range cannot be a grid"),
    ({"params": {"a.b": [1]}, "sampler": "bayes"}, "sampler: 'bayes' is not one of grid, random, tpe"),
    ({"params": {"a.b": [1]}, "sampler": "random"}, "trials: sampler random needs"),
    ({"params": {"a.b": [1]}, "seeds": 0}, "seeds: give a count"),
    ({"params": {"a.b": {"low": 0, "high": 1, "log": True}}, "sampler": "tpe", "trials": 2}, "log range needs low > 0"),
    ({"params": {"a.b": [1, 1]}}, "listed twice"),
    ({"params": {"a.b": [[1, 2]]}}, "values must be numbers"),
    ({"params": {"trainer.seed": [1, 2]}}, "write `seeds: N`"),
    ({"params": {"x": {"keys": ["a.b"], "choices": [1]}, "a.b": [2]}}, "a.b is set by two entries"),
    ({"params": {"a.b": [1]}, "objective": {"direction": "down"}}, "direction: 'down'"),
    ({"params": {"a.b": [1]}, "budget": 3}, "unknown key 'budget'"),
])
def test_a_bad_space_is_an_error_naming_the_key(raw, words):
    with pytest.raises(GankitError) as e:
        space.parse(raw, "space.yaml")
    assert words in str(e.value) and "space.yaml" in str(e.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(GankitError) as e:
        space.parse({"params": {"a.b": {"low": 2, "high": 1}}, "sampler": "x", "seeds": -1})
    assert len(e.value.problems) == 3


def test_keys_and_values_are_checked_against_the_recipe():
    good = space.parse({"params": {"optim.g.lr": [1e-4, 1e-3], "penalties.0.gamma": [1.0, 5.0]}})
    assert space.check_against(good, R1, []).penalties[0].gamma == 1.0
    for params, words in (({"optim.g.lrr": [1e-3]}, "params.optim.g.lrr"),
                          ({"optim.g.lr": ["fast"]}, "params.optim.g.lr = \"fast\""),
                          ({"penalties.3.gamma": [1.0]}, "params.penalties.3.gamma")):
        with pytest.raises(GankitError) as e:
            space.check_against(space.parse({"params": params}), R1, [])
        assert words in str(e.value), str(e.value)


def test_a_list_item_key_becomes_a_whole_list_override_that_keeps_the_rest():
    base = validate.load(R1).cfg
    ovr = space.overrides(base, {"penalties.0.gamma": 5.0, "optim.g.lr": 0.002})
    assert ovr[0] == "optim.g.lr=0.002" and ovr[1].startswith("penalties=")
    cfg = validate.load(R1, ovr).cfg
    assert OmegaConf.to_container(cfg.penalties) == [{"name": "r1", "gamma": 5.0, "interval": 16}]
    assert cfg.optim.g.lr == 0.002


def test_read_gives_floats_for_exponents_and_clear_errors(tmp_path):
    f = tmp_path / "space.yaml"
    f.write_text("params:\n  optim.g.lr: [1e-4, 2.0e-4]\n")
    assert space.parse(space.read(f)).params[0].choices == [1e-4, 2e-4]
    with pytest.raises(GankitError, match="does not exist"):
        space.read(tmp_path / "nope.yaml")
    f.write_text("- a\n- b\n")
    with pytest.raises(GankitError, match="must hold a mapping"):
        space.read(f)
