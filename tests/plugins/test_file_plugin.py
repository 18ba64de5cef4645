"""The single-file plugin example: plugins/my_gan.py named by plugins/my_gan_recipe.yaml."""
import json
from pathlib import Path

import pytest

import gankit
from gankit import GENERATORS, LOSSES
from gankit.config import plugins
from gankit.errors import GankitError
from gankit.training.parts import build_parts, load_plugins

from gk_plugin_helpers import ROOT

RECIPE = ROOT / "plugins" / "my_gan_recipe.yaml"


def test_recipe_loads_the_file_relative_to_itself(fresh_plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the recipe's folder
    cfg = gankit.load_recipe(RECIPE, ["data.size=32"])
    load_plugins(cfg, RECIPE.parent)
    entry = GENERATORS.entry("my_mlp")
    assert entry.origin == f"file {(ROOT / 'plugins' / 'my_gan.py').resolve()}"
    assert LOSSES.entry("my_softplus").doc.startswith("Non-saturating loss written with softplus")
    parts = build_parts(cfg)
    assert parts.G.z_dim == 32 and parts.G.img_shape == (1, 28, 28)
    import torch

    out = parts.G(torch.randn(3, 32))
    assert out.shape == (3, 1, 28, 28) and out.abs().max() <= 1


def test_a_missing_plugin_file_says_where_it_looked(fresh_plugins, tmp_path):
    with pytest.raises(GankitError, match=r"plugins: plugin file './nope.py' not found \(looked at: .*nope.py"):
        plugins.load(["./nope.py"], base_dir=tmp_path)


def test_file_plugin_clashing_with_a_builtin_names_the_file(fresh_plugins, tmp_path):
    f = tmp_path / "clash.py"
    f.write_text("from gankit import GENERATORS\n@GENERATORS.register('dcgan_mnist')\nclass G:\n    '''mine'''\n")
    with pytest.raises(GankitError) as e:
        plugins.load([str(f)])
    assert "generator 'dcgan_mnist' is registered twice: by built-in" in str(e.value)
    assert f"by file {f.resolve()}" in str(e.value)


@pytest.mark.slow
def test_my_gan_recipe_trains_two_steps(fresh_plugins, tmp_path):
    cfg = gankit.load_recipe(RECIPE, ["trainer.max_steps=2", "trainer.log_every=1", "trainer.batch_size=16",
                                      "data.size=64"])
    from gankit.training.run import train

    summary = train(cfg, tmp_path / "run", recipe_dir=RECIPE.parent, name="my_gan")
    rows = [json.loads(line) for line in (Path(summary["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
