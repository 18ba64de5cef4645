"""A run directory is self-contained: its stored recipe holds no path relative to the folder it was trained
from, so eval, resume, neighbours, sample, export, report and compare work from any folder and after the run
is moved."""
import json
import os
import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from PIL import Image

from gankit.cli import main
from gankit.config import recipe, validate
from gankit.store import checkpoints as ckpt
from gankit.store.files import RECIPE_FILE, STATE_FILE
from tests.conftest import ROOT

IMAGES = 40


def _lab(folder: Path) -> Path:
    """A folder holding a recipe and its images (``faces/``), named relative to it as a user would."""
    (folder / "faces").mkdir(parents=True)
    for i in range(IMAGES):
        Image.new("L", (28, 28), 6 * i).save(folder / "faces" / f"{i}.png")
    (folder / "recipe.yaml").write_text(
        f"base: {ROOT / 'tests/recipes/tiny.yaml'}\n"
        "data: {name: image_folder, root: faces, image_size: 28, channels: 1, size: null, split: null}\n"
        "trainer: {max_steps: 2, checkpoint_every: 2, sample_every: 2, log_every: 1}\n")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A run trained from inside its lab folder with `data.root: faces` (relative), kept in place."""
    lab = _lab(tmp_path_factory.mktemp("lab"))
    cwd = os.getcwd()
    os.environ["GANKIT_CACHE"] = str(lab / "cache")
    try:
        os.chdir(lab)
        assert main(["train", "recipe.yaml", "--out", "run"]) == 0
    finally:
        os.chdir(cwd)
        del os.environ["GANKIT_CACHE"]
    return lab / "run"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """Another working folder, where nothing of the lab is."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


@pytest.mark.slow
def test_the_stored_recipe_names_the_data_by_an_absolute_path(trained):
    stored = recipe.load(trained / RECIPE_FILE)
    assert stored.data.root == str((trained.parent / "faces").resolve())


@pytest.mark.slow
def test_eval_works_from_another_folder(trained, elsewhere, capsys):
    assert main(["eval", str(trained), "--metrics", "fd", "--num-samples", "40", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["fd"] > 0 and res["checkpoint"].endswith(ckpt.name_for(2))
    assert list(elsewhere.iterdir()) == []


@pytest.mark.slow
def test_neighbours_work_from_another_folder(trained, elsewhere, capsys):
    out = elsewhere / "n.png"
    assert main(["neighbours", str(trained), "--num", "2", "--k", "3", "--out", str(out)]) == 0
    assert f"2 samples, each beside its 3 nearest of {IMAGES} training images" in capsys.readouterr().out
    assert Image.open(out).size == (4 * 30 + 2, 2 * 30 + 2)


@pytest.mark.slow
def test_resume_works_from_another_folder(trained, elsewhere, tmp_path, capsys):
    run = _copy(trained, tmp_path / "copy")
    assert main(["resume", str(run), "trainer.max_steps=4", "trainer.checkpoint_every=2"]) == 0
    assert ckpt.latest(run).name == ckpt.name_for(4)
    assert "written by another recipe" not in capsys.readouterr().err
    assert main(["train", "--resume", str(run)]) == 0  # a plain resume of the finished run: nothing to do
    assert ckpt.latest(run).name == ckpt.name_for(4)


@pytest.mark.slow
def test_a_moved_run_evaluates_resumes_and_samples(trained, elsewhere, tmp_path, capsys):
    moved = _copy(trained, tmp_path / "a").rename(elsewhere / "moved")  # mv to another name and parent
    assert main(["eval", "moved", "--metrics", "fd", "--num-samples", "40", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fd"] > 0
    assert main(["sample", "moved", "--num", "4", "--out", "s.png"]) == 0
    assert main(["export", "moved", "model"]) == 0
    assert main(["report", "moved"]) == 0
    assert main(["compare", "moved", "--json"]) == 0
    assert main(["resume", "moved", "trainer.max_steps=4"]) == 0
    assert ckpt.latest(moved).name == ckpt.name_for(4)
    capsys.readouterr()


@pytest.mark.slow
def test_an_older_run_with_a_relative_root_still_loads_and_resumes_from_its_folder(trained, tmp_path, monkeypatch,
                                                                                    capsys):
    """Runs written before roots were stored absolute: their relative paths mean the working folder, as before,
    and their checkpoints (fingerprinted over the recipe exactly as stored) are still theirs."""
    lab = tmp_path / "old"
    shutil.copytree(trained.parent / "faces", lab / "faces")
    run = _copy(trained, lab / "run")
    old = OmegaConf.load(run / RECIPE_FILE)
    old.data.root = "faces"
    (run / RECIPE_FILE).write_text(OmegaConf.to_yaml(old))
    state_path = run / "checkpoints" / ckpt.name_for(2) / STATE_FILE
    state = json.loads(state_path.read_text())
    state["recipe_sha256"] = recipe.fingerprint(recipe.load(run / RECIPE_FILE))  # what the older version wrote
    state_path.write_text(json.dumps(state))
    monkeypatch.chdir(lab)
    assert main(["eval", "run", "--metrics", "fd", "--num-samples", "40", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["checkpoint"].endswith(ckpt.name_for(2))
    assert main(["resume", "run", "trainer.max_steps=4"]) == 0
    assert ckpt.latest(run).name == ckpt.name_for(4)
    assert "written by another recipe" not in capsys.readouterr().err
    assert main(["train", "--resume", "run"]) == 0  # the checkpoints of both versions stay the run's own
    assert ckpt.latest(run).name == ckpt.name_for(4)


def test_a_default_root_is_stored_as_the_folder_it_meant(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text("data: {name: mnist, split: test}\n")
    assert validate.load("r.yaml").cfg.data.root == str(tmp_path / "data")  # mnist's default, `data`, in this folder
    home = validate.load("r.yaml", ["data.root=~/mnist"]).cfg.data.root
    assert home == str(Path("~/mnist").expanduser())
