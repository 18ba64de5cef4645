"""Exported model folders: a fresh process loads them alone; the card is Markdown with the grid; metrics."""
import json
import os
import shutil
import subprocess
import sys

import markdown
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file

from gankit.errors import GankitError
from gankit.runs.export import export_generator
from gankit.runs.inference import load_generator, sample
from gankit.runs.model_folder import CARD_FILE, CONFIG_FILE, GRID_FILE, WEIGHTS_FILE, load_folder

pytestmark = pytest.mark.xdist_group("export")  # one worker builds the module's fixtures once

LOAD_AND_SAMPLE = ("import sys, gankit\nfrom safetensors.torch import save_file\n"
                   "G = gankit.load_generator(sys.argv[1])\n"
                   "save_file({'x': gankit.sample(G, 6, seed=3), 't': gankit.sample(G, 6, seed=3, truncation=0.5)}, "
                   "sys.argv[2])\n")


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    """An export of a copy of the tiny run (with two evaluation rows added), the copy deleted afterwards."""
    base = tmp_path_factory.mktemp("export")
    run = base / "run"
    shutil.copytree(run_dir, run)
    with open(run / "metrics.jsonl", "a") as f:
        for row in ({"step": 2, "eval/fd": 10.5, "eval/eval_s": 1.0}, {"step": 4, "eval/fd": 8.25, "eval/kid": 0.125,
                     "labels": {"fd": "fd (lenet_mnist, 1k vs 256)"}},
                    {"step": 6, "eval/fd": 1.0}):  # step 6 is after the exported checkpoint
            f.write(json.dumps(row) + "\n")
    out = export_generator(run, base / "model")
    shutil.rmtree(run)
    return out


@pytest.mark.slow
def test_a_fresh_process_loads_the_folder_alone_and_draws_the_same_samples(exported, run_dir, tmp_path):
    assert sorted(p.name for p in exported.iterdir()) == sorted([CARD_FILE, CONFIG_FILE, GRID_FILE, WEIGHTS_FILE])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH="")
    r = subprocess.run([sys.executable, "-c", LOAD_AND_SAMPLE, str(exported), str(tmp_path / "x.safetensors")],
                       cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = load_file(str(tmp_path / "x.safetensors"))
    G = load_generator(run_dir)  # the run's own generator (EMA weights, as exported)
    assert torch.equal(got["x"], sample(G, 6, seed=3))
    assert torch.equal(got["t"], sample(G, 6, seed=3, truncation=0.5))


def test_config_holds_what_rebuilds_the_generator_and_the_final_metrics(exported):
    config = json.loads((exported / CONFIG_FILE).read_text())
    assert config["generator"] == {"name": "dcgan_mnist", "z_dim": 96}
    assert config["img_shape"] == [1, 28, 28] and config["z_dim"] == 96 and config["weights"] == "ema"
    assert config["recipe"]["data"]["name"] == "synthetic" and config["gankit_version"]
    assert config["trained"]["step"] == 4 and config["plugins"] == []
    assert config["metrics"] == {"fd": {"value": 8.25, "step": 4, "label": "fd (lenet_mnist, 1k vs 256)"},
                                 "kid": {"value": 0.125, "step": 4, "label": "kid"}}  # a row that named it / did not


def test_the_model_card_is_markdown_with_the_grid_and_the_metrics(exported):
    text = (exported / CARD_FILE).read_text()
    _, front, body = text.split("---\n", 2)
    assert yaml.safe_load(front)["library_name"] == "gankit"
    page = markdown.markdown(body, extensions=["tables", "fenced_code"])
    assert f'src="{GRID_FILE}"' in page and "<table>" in page
    assert "<td>fd (lenet_mnist, 1k vs 256)</td>\n<td>8.25</td>\n<td>4</td>" in page  # the label says what fd it is
    assert Image.open(exported / GRID_FILE).size == (8 * 30 + 2, 8 * 30 + 2)  # 64 samples of seed 0


def test_the_folder_holds_only_its_weights(exported):
    with pytest.raises(GankitError, match="holds only its ema weights"):
        load_folder(exported, ema=False)
    assert torch.equal(sample(load_folder(exported, ema=True), 2), sample(load_folder(exported), 2))


def test_export_refuses_to_write_over_other_folders(run_dir, exported, tmp_path):
    with pytest.raises(GankitError, match="exists and is not empty"):
        export_generator(run_dir, exported)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    (other / CARD_FILE).write_text("# not an export's")
    with pytest.raises(GankitError, match="no earlier gankit export"):
        export_generator(run_dir, other, overwrite=True)
    assert (other / "todo.txt").read_text() == "keep me" and (other / CARD_FILE).read_text() == "# not an export's"
    with pytest.raises(GankitError, match="does not exist"):
        export_generator(run_dir, tmp_path / "no" / "such")
    again = tmp_path / "again"
    shutil.copytree(exported, again)
    export_generator(run_dir, again, overwrite=True, ema=False)
    assert json.loads((again / CONFIG_FILE).read_text())["weights"] == "raw"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_a_damaged_config_is_named(exported, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(exported, bad)
    (bad / CONFIG_FILE).write_text("{not json")
    with pytest.raises(GankitError, match="config.json: cannot read it"):
        load_generator(bad)
    (bad / CONFIG_FILE).write_text(json.dumps({"format": "gankit-generator", "format_version": 99}))
    with pytest.raises(GankitError, match="newer gankit"):
        load_generator(bad)


def test_the_shared_recipe_names_no_local_folder(tmp_path):
    """config.json's recipe (shown on the Hub) cuts each absolute local path to its last part; the run's own
    recipe keeps them absolute, so the run still finds its data."""
    from gankit.cli import main
    from gankit.runs.export import shareable
    from tests.conftest import ROOT

    home = tmp_path / "home" / "someone"
    (home / "faces").mkdir(parents=True)
    for i in range(8):
        Image.new("L", (28, 28), 30 * i).save(home / "faces" / f"{i}.png")
    assert main(["train", str(ROOT / "tests/recipes/tiny.yaml"), "trainer.max_steps=2", "trainer.eval_every=null",
                 "trainer.batch_size=4", f"data={{name: image_folder, root: {home / 'faces'}, image_size: 28, "
                 "channels: 1, size: null, split: null}", "--out", str(tmp_path / "run")]) == 0
    assert yaml.safe_load((tmp_path / "run" / "recipe.yaml").read_text())["data"]["root"] == str(home / "faces")
    config = json.loads((export_generator(tmp_path / "run", tmp_path / "model") / CONFIG_FILE).read_text())
    assert config["recipe"]["data"]["root"] == "faces"
    assert str(home) not in json.dumps(config) + (tmp_path / "model" / CARD_FILE).read_text()
    plugins = {"plugins": [str(home / "lab" / "my_loss.py"), "some_package.plugin"]}
    assert shareable(plugins) == {"plugins": ["my_loss.py", "some_package.plugin"]}
