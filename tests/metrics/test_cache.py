"""The reference-feature cache: keys and files."""
import json

import torch

from gankit.metrics import cache


def test_cache_key_changes_with_every_field():
    base = {"data": {"name": "mnist"}, "extractor": "lenet_mnist", "count": 10, "weights_sha256": "a"}
    keys = {cache.cache_key(base)} | {cache.cache_key({**base, k: "other"}) for k in base}
    assert len(keys) == 1 + len(base)


def test_save_then_load_round_trips_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))
    meta = {"data": {"name": "synthetic"}, "extractor": "lenet_mnist", "count": 3}
    assert cache.load(meta) is None
    features = torch.arange(6.0).view(3, 2).t()  # not contiguous
    path = cache.save(meta, {"features": features})
    assert path.parent == tmp_path / "stats" and path.name.startswith("lenet_mnist-")
    assert torch.equal(cache.load(meta)["features"], features)
    assert json.loads(path.with_suffix(".json").read_text()) == meta
    assert sorted(p.suffix for p in path.parent.iterdir()) == [".json", ".safetensors"]
    assert cache.load({**meta, "count": 4}) is None


def test_an_unwritable_cache_folder_only_skips_caching(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "file" / "stats"))  # a folder under a file
    assert cache.save({"extractor": "x"}, {"features": torch.zeros(2)}) is None
