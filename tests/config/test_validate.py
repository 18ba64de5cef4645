"""The one validation path: what `gankit check` and training both refuse before building anything."""
import dataclasses

import pytest
import torch

from gankit.config import recipe, validate
from gankit.errors import GankitError
from gankit.training.parts import build_parts


def test_a_good_recipe_has_no_problems(tiny_recipe):
    assert validate.problems(recipe.load(tiny_recipe)) == []
    assert validate.load(tiny_recipe).cfg.trainer.max_steps == recipe.load(tiny_recipe).trainer.max_steps


def test_every_kind_of_name_is_checked_with_its_key(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["generator.name=mpl", "loss.margin=1", "penalties=[{name: r1x}]",
                                    "augment={name: diffaugment, policy: 'color,flip'}",
                                    "metrics=[{name: fdd}, {name: fd, features: lenet_mnst}]",
                                    "optim.g.name=adan", "schedules={optim.d.lr: {name: cosin}}"])
    text = "\n".join(validate.problems(cfg))
    for key in ("generator.name: unknown generator 'mpl'", "loss.margin:", "penalties[0].name: unknown penalty",
                "augment.policy: unknown augment policy 'flip'", "metrics[0].name: unknown metric 'fdd'",
                "metrics[1].features: unknown feature extractor 'lenet_mnst'",
                "optim.g.name: unknown optimizer 'adan'. Did you mean 'adam'",
                "schedules[optim.d.lr].name: unknown schedule 'cosin'. Did you mean 'cosine'"):
        assert key in text, f"{key!r} not in:\n{text}"


def test_settings_the_machine_cannot_honour(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["trainer.cpu=true", "trainer.precision=fp16", "ddp.sync_batchnorm=true"])
    keys = [p.split(":")[0] for p in validate.settings_problems(cfg)]
    assert keys == ["trainer.precision", "ddp.sync_batchnorm"]


def test_plugins_that_do_not_load_are_reported_instead_of_their_components(tiny_recipe, tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('boom')\n")
    cfg = recipe.load(tiny_recipe, [f"plugins=[{bad}]", "generator.name=from_the_plugin"])
    problems = validate.problems(cfg)
    assert len(problems) == 1 and problems[0].startswith(f"plugins: importing plugin file {bad}") and "boom" in problems[0]


def test_a_broken_schema_still_reports_the_components_using_the_schema_defaults(tmp_path, tiny_recipe):
    r = tmp_path / "r.yaml"
    r.write_text(f"base: {tiny_recipe}\ntrainer: {{batch_sise: 3}}\ngenerator: {{name: mpl}}\nema: {{decay: abc}}\n")
    with pytest.raises(GankitError) as e:
        validate.load(r)
    assert e.value.problems[0].startswith("trainer.batch_sise: unknown key")
    assert any(p.startswith("generator.name: unknown generator 'mpl'") for p in e.value.problems)
    partial = recipe.load_partial(r)
    assert "batch_sise" not in partial.trainer and partial.trainer.batch_size == 32  # (from the base recipe)
    assert partial.ema.decay == recipe.Recipe().ema.decay  # the schema's default stands in for the broken value
    assert recipe.load_partial(tmp_path / "missing.yaml") is None


def test_build_parts_refuses_what_validate_finds(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["discriminator.name=mlpp"])
    with pytest.raises(GankitError, match="discriminator.name: unknown discriminator 'mlpp'. Did you mean 'mlp'"):
        build_parts(validate.validated(cfg))


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is fine on a GPU")
def test_build_parts_refuses_fp16_on_a_cpu(tiny_recipe):
    with pytest.raises(GankitError, match="trainer.precision: fp16 needs a CUDA GPU"):
        build_parts(validate.validated(recipe.load(tiny_recipe, ["trainer.precision=fp16"])))


def test_a_valid_recipe_holds_the_resolved_recipe_its_folder_and_the_run_keys_split_off(tiny_recipe, tmp_path):
    (tmp_path / "p.py").write_text("")
    r = tmp_path / "r.yaml"
    r.write_text(f"base: {tiny_recipe}\nplugins: [./p.py]\ndata: {{holdout: 16}}\n"
                 f"penalties: [{{name: r1, gamma: 2.0, interval: 4}}, {{name: r2}}]\n")
    valid = validate.load(r)
    assert valid.recipe_dir == tmp_path and valid.cfg.plugins == [str((tmp_path / "p.py").resolve())]
    assert "holdout" not in valid.data and valid.data["name"] == "synthetic" and valid.holdout == 16
    assert [(p.key, p.name, p.node, p.interval) for p in valid.penalties] == [
        ("penalties[0]", "r1", {"name": "r1", "gamma": 2.0}, 4), ("penalties[1]", "r2", {"name": "r2"}, 1)]
    assert valid.cfg.data.holdout == 16 and valid.cfg.penalties[0].interval == 4  # the recipe itself is kept whole
    with pytest.raises(dataclasses.FrozenInstanceError):
        valid.holdout = 0


def test_a_valid_recipe_is_not_validated_again(tiny_recipe, monkeypatch):
    valid = validate.load(tiny_recipe)
    monkeypatch.setattr(validate, "_examine", lambda *a, **k: pytest.fail("validated twice"))
    assert validate.validated(valid) is valid and validate.validated(valid, "elsewhere") is valid


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is fine on a GPU")
def test_a_recipe_checked_for_evaluation_only_gets_the_settings_checked_before_it_trains(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["trainer.precision=fp16"])
    valid = validate.validated(cfg, for_training=False)  # evaluating an fp16 run on a CPU is fine
    assert not valid.for_training
    with pytest.raises(GankitError, match="trainer.precision: fp16 needs a CUDA GPU"):
        validate.validated(valid)
    assert validate.validated(validate.validated(recipe.load(tiny_recipe), for_training=False)).for_training
