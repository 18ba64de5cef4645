"""The recipe schema: every field has a default, the resume-safe keys and precisions match what loading accepts."""
import dataclasses
import typing

import pytest
from omegaconf import OmegaConf

from gankit.config import recipe, schema
from gankit.config.registry import ALL
from gankit.errors import GankitError


def _nested_dataclass(tp):
    """The dataclass a field's annotation names (through Optional), or None."""
    for t in (tp, *typing.get_args(tp)):
        if dataclasses.is_dataclass(t):
            return t
    return None


def _all_keys(cls, prefix: str = "") -> dict[str, dataclasses.Field]:
    """Every dotted key of the schema, nested sections included."""
    hints = typing.get_type_hints(cls)
    keys = {}
    for f in dataclasses.fields(cls):
        keys[prefix + f.name] = f
        sub = _nested_dataclass(hints[f.name])
        if sub is not None:
            keys.update(_all_keys(sub, f"{prefix}{f.name}."))
    return keys


def test_every_schema_field_has_a_default():
    keys = _all_keys(schema.Recipe)
    assert "optim.g.lr" in keys and "trainer.precision" in keys  # the walk reaches nested sections
    missing = [k for k, f in keys.items()
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    assert missing == []


def test_an_empty_recipe_validates_to_the_schema_defaults():
    cfg = recipe.from_container({})
    defaults = OmegaConf.to_container(OmegaConf.structured(schema.Recipe))
    assert recipe.to_dict(cfg) == defaults
    assert cfg.trainer.precision == schema.TrainerCfg().precision


def test_defaults_are_fresh_per_instance():
    a, b = schema.Recipe(), schema.Recipe()
    a.optim.g.betas.append(0.0)
    a.generator["z_dim"] = 3
    assert b.optim.g.betas == schema.OptimizerCfg().betas
    assert "z_dim" not in b.generator
    assert a.optim.g is not a.optim.d


def test_recipe_re_exports_the_schema():
    for name in ("PRECISIONS", "RESUME_SAFE_KEYS", "Recipe", "TrainerCfg", "OptimizerCfg"):
        assert getattr(recipe, name) is getattr(schema, name)
        assert name in recipe.__all__


def test_every_resume_safe_key_names_a_real_schema_key():
    keys = _all_keys(schema.Recipe)
    assert schema.RESUME_SAFE_KEYS
    assert len(set(schema.RESUME_SAFE_KEYS)) == len(schema.RESUME_SAFE_KEYS)
    unknown = [k for k in schema.RESUME_SAFE_KEYS if k not in keys]
    assert unknown == []
    for k in schema.RESUME_SAFE_KEYS:
        assert recipe.is_resume_safe(k)


def test_side_jobs_are_a_resume_safe_list_of_component_nodes():
    assert schema.Recipe().side_jobs == [] and "side_jobs" in schema.RESUME_SAFE_KEYS
    cfg = recipe.from_container({"side_jobs": [{"name": "step_log", "every": 50}]})
    assert list(cfg.side_jobs) == [{"name": "step_log", "every": 50}]
    changed = recipe.diff_keys(recipe.to_dict(recipe.from_container({})), recipe.to_dict(cfg))
    assert changed == ["side_jobs"] and recipe.is_resume_safe(changed[0])  # the list changes as a whole


def test_keys_that_shape_the_run_are_not_resume_safe():
    # what the models, data, optimizers and random stream are built from must match the stored run
    for section in ("generator", "discriminator", "loss", "data", "optim", "ema"):
        assert section not in schema.RESUME_SAFE_KEYS
        assert not recipe.is_resume_safe(f"{section}.name")
    for key in ("trainer.seed", "trainer.batch_size", "trainer.precision"):
        assert not recipe.is_resume_safe(key)


@pytest.mark.parametrize("precision", schema.PRECISIONS)
def test_every_listed_precision_is_accepted(precision):
    assert recipe.from_container({"trainer": {"precision": precision}}).trainer.precision == precision


def test_the_default_precision_is_one_of_them():
    assert schema.TrainerCfg().precision in schema.PRECISIONS


def test_a_precision_outside_the_list_is_refused_naming_the_key():
    bad = "+".join(schema.PRECISIONS)  # not any one of them
    with pytest.raises(GankitError) as e:
        recipe.from_container({"trainer": {"precision": bad}})
    msg = str(e.value)
    assert msg.startswith("trainer.precision:") and bad in msg
    for p in schema.PRECISIONS:
        assert p in msg


def test_optimizer_node_defaults():
    o = schema.OptimizerCfg()
    assert o.name == "adam" and o.args == {} and o.grad_clip is None
    assert len(o.betas) == 2 and all(0 <= b < 1 for b in o.betas) and o.lr > 0
    cfg = recipe.from_container({})
    for net in ("g", "d"):
        assert cfg.optim[net].name == "adam"
        assert recipe.to_dict(cfg)["optim"][net] == dataclasses.asdict(o)


def test_default_component_names_are_registered():
    d = schema.Recipe()
    assert d.optim.g.name in ALL["optimizers"] and d.optim.d.name in ALL["optimizers"]
    for key, registry in (("generator", "generators"), ("discriminator", "discriminators"), ("loss", "losses"),
                          ("data", "datasets")):
        assert getattr(d, key)["name"] in ALL[registry], key
