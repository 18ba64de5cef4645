"""Paths in a recipe are made absolute once, when it is validated (gankit.config.locations)."""
from pathlib import Path

from gankit.config import locations, validate


def _recipe(tmp_path, data: str) -> Path:
    (tmp_path / "lab").mkdir()
    path = tmp_path / "lab" / "r.yaml"
    path.write_text(f"data: {data}\n")
    return path


def test_every_path_argument_of_the_data_is_made_absolute_against_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _recipe(tmp_path, "{name: image_folder, root: imgs, cache_dir: ../cache, image_size: 28}")
    valid = validate.load(path)
    assert valid.cfg.data.root == str(tmp_path / "imgs") == valid.data["root"]  # not the recipe's folder
    assert valid.cfg.data.cache_dir == str(tmp_path.parent / "cache") and valid.cfg.data.image_size == 28


def test_hf_datasets_path_is_absolute_and_a_null_stays_null(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    valid = validate.load(_recipe(tmp_path, "{name: hf_datasets, path: saved/ds, cache_dir: null}"))
    assert valid.cfg.data.path == str(tmp_path / "saved" / "ds") and valid.cfg.data.cache_dir is None


def test_an_absolute_recipe_comes_back_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = validate.load(_recipe(tmp_path, "{name: mnist, split: test}")).cfg
    assert locations.absolute(cfg) is cfg


def test_path_arguments_are_known_by_their_names():
    assert all(map(locations.is_path_argument, ["root", "path", "cache_dir", "weights_path", "label_file",
                                                "data_root"]))
    assert not any(map(locations.is_path_argument, ["image_size", "split", "rootless", "path_length", "paths"]))
