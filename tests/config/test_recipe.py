import pytest
from omegaconf import OmegaConf

from gankit.config import recipe
from gankit.errors import GankitError

ROOT = recipe.Path(__file__).resolve().parents[2]


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reference_recipe_has_the_tutorial_settings():
    cfg = recipe.load(ROOT / "recipes" / "mnist_dcgan.yaml")
    assert cfg.trainer.epochs == 10 and cfg.trainer.batch_size == 128 and cfg.trainer.d_steps == 1
    assert cfg.optim.g.lr == cfg.optim.d.lr == 1e-3 and list(cfg.optim.g.betas) == [0.5, 0.999]
    assert cfg.generator == {"name": "dcgan_mnist", "z_dim": 96} and cfg.loss.name == "non_saturating"
    # measured (docs/benchmarks.md): bf16 + channels_last keeps FD within fp32's seed spread, 1.8× faster
    assert cfg.trainer.precision == "auto" and cfg.trainer.channels_last is True


def test_base_extension_and_overrides(tmp_path):
    write(tmp_path, "base.yaml", "trainer: {batch_size: 64, seed: 3}\nloss: {name: hinge}\n")
    (tmp_path / "sub").mkdir()
    child = write(tmp_path / "sub", "child.yaml", "base: ../base.yaml\ntrainer: {seed: 5}\n")
    cfg = recipe.load(child, ["trainer.max_steps=7", "optim.d.lr=2e-4", "optim.g.betas=[0.0,0.9]", "data.root=/x"])
    assert (cfg.trainer.batch_size, cfg.trainer.seed, cfg.trainer.max_steps) == (64, 5, 7)
    assert cfg.loss.name == "hinge" and cfg.optim.d.lr == 2e-4 and list(cfg.optim.g.betas) == [0.0, 0.9]
    assert cfg.data.root == "/x" and isinstance(cfg.optim.d.lr, float)


def test_cli_values_are_coerced_to_schema_types(tmp_path):
    cfg = recipe.load(write(tmp_path, "r.yaml", "description: overrides only\n"),
                      ["trainer.batch_size=5", "trainer.channels_last=true", "trainer.precision=no"])
    assert cfg.trainer.batch_size == 5 and cfg.trainer.channels_last is True and cfg.trainer.precision == "no"


def test_typo_is_an_error_with_suggestion(tmp_path):
    with pytest.raises(GankitError, match=r"trainer.batch_sise: unknown key.*Did you mean 'trainer.batch_size'"):
        recipe.load(write(tmp_path, "r.yaml", "trainer: {batch_sise: 3}\n"))
    with pytest.raises(GankitError, match="trainer.stpes"):
        recipe.load(write(tmp_path, "r2.yaml", "description: overrides only\n"), ["trainer.stpes=3"])


def test_all_errors_reported_at_once(tmp_path):
    path = write(tmp_path, "r.yaml", "trainer: {stpes: 3, batch_size: abc}\noptim: {g: {lrr: 1}}\nfoo: 1\n")
    with pytest.raises(GankitError) as e:
        recipe.load(path, ["nonsense"])
    assert len(e.value.problems) == 5
    for key in ("trainer.stpes", "trainer.batch_size", "optim.g.lrr", "foo", "nonsense"):
        assert key in str(e.value)


def test_value_errors_are_collected(tmp_path):
    with pytest.raises(GankitError) as e:
        recipe.load(write(tmp_path, "r.yaml", "trainer: {epochs: 0, precision: fp8}\noptim: {d: {lr: -1}}\n"))
    assert len(e.value.problems) == 3


def test_yaml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(GankitError, match=r"not valid YAML at line 2, column \d+"):
        recipe.load(write(tmp_path, "r.yaml", "trainer:\n  batch_size: 1: 2\n"))


def test_base_cycle_and_missing_file(tmp_path):
    write(tmp_path, "a.yaml", "base: b.yaml\n")
    write(tmp_path, "b.yaml", "base: a.yaml\n")
    with pytest.raises(GankitError, match="cycle"):
        recipe.load(tmp_path / "a.yaml")
    with pytest.raises(GankitError, match="not found"):
        recipe.load(tmp_path / "missing.yaml")


def test_saved_recipe_reloads_identically(tmp_path):
    cfg = recipe.load(ROOT / "recipes" / "fashion_mnist_dcgan.yaml", ["trainer.max_steps=3"])
    recipe.save(cfg, tmp_path / "saved.yaml")
    again = recipe.load(tmp_path / "saved.yaml")
    assert OmegaConf.to_container(again) == OmegaConf.to_container(cfg)
    assert again.data.name == "fashion_mnist" and again.optim.g.lr == 1e-3


def test_diff_keys_and_resume_safety():
    a = {"trainer": {"max_steps": 1, "seed": 0}, "loss": {"name": "hinge"}}
    b = {"trainer": {"max_steps": 2, "seed": 1}, "loss": {"name": "hinge"}}
    assert recipe.diff_keys(a, b) == ["trainer.max_steps", "trainer.seed"]
    assert recipe.is_resume_safe("trainer.max_steps") and not recipe.is_resume_safe("trainer.seed")
