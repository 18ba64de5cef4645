"""Decoded-image caches (image_folder, hf_datasets) go to a scratch folder, not the user's ~/.cache."""
import pytest


@pytest.fixture(autouse=True)
def scratch_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
