"""The Hub without a network: a push lands in a stand-in for the Hub that fills the local cache, the
pull reads that cache offline (HF_HUB_OFFLINE=1); an unreachable Hub and an empty cache give advice."""
import hashlib
import shutil
import types
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi, constants

from gankit.errors import GankitError
from gankit.runs.export import export_generator
from gankit.runs.hub import looks_like_repo_id, push_to_hub
from gankit.runs.inference import load_generator, sample
from gankit.runs.model_folder import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE

pytestmark = pytest.mark.xdist_group("hub")  # one worker builds the module's fixtures once

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: a connection is refused at once, off the network


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hub cache, offline."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


class CachingHub:
    """Stands in for ``HfApi``: an upload becomes the cached snapshot of a new commit, as the Hub would
    serve it and ``snapshot_download`` would store it (``models--user--repo/snapshots/<sha>``, ``refs/main``)."""

    def __init__(self, cache: Path):
        self.cache, self.calls = cache, []

    def create_repo(self, repo_id, private=None, exist_ok=False):
        self.calls.append(("create_repo", repo_id, private, exist_ok))

    def upload_folder(self, *, repo_id, folder_path, revision=None, commit_message=None):
        files = sorted(p.name for p in Path(folder_path).iterdir())
        self.calls.append(("upload_folder", repo_id, files, commit_message))
        sha = hashlib.sha1(b"".join(p.read_bytes() for p in sorted(Path(folder_path).iterdir()))).hexdigest()
        repo = self.cache / f"models--{repo_id.replace('/', '--')}"
        shutil.copytree(folder_path, repo / "snapshots" / sha)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / (revision or "main")).write_text(sha)
        return types.SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/{sha}")


@pytest.fixture(scope="module")
def model(run_dir, tmp_path_factory):
    return export_generator(run_dir, tmp_path_factory.mktemp("hub") / "model")


def test_repo_ids_are_told_from_paths():
    assert looks_like_repo_id("user/repo") and looks_like_repo_id("org-1/mnist.dcgan_v2")
    for text in ("runs", "./a/b", "/a/b", "a/b/c", "../x", "a/", "~/x", 3):
        assert not looks_like_repo_id(text), text


def test_push_then_load_by_repo_id_round_trips(model, hub_cache):
    hub = CachingHub(hub_cache)
    url = push_to_hub(model, "someone/tiny-gan", private=True, api=hub)
    assert url.startswith("https://huggingface.co/someone/tiny-gan/commit/")
    assert hub.calls[0] == ("create_repo", "someone/tiny-gan", True, True)
    assert {CONFIG_FILE, WEIGHTS_FILE, CARD_FILE} <= set(hub.calls[1][2])
    G = load_generator("someone/tiny-gan")  # offline: from the cache
    assert torch.equal(sample(G, 5, seed=1), sample(load_generator(model), 5, seed=1))
    card = next(hub_cache.glob("models--someone--tiny-gan/snapshots/*/README.md")).read_text()
    assert 'gankit.load_generator("someone/tiny-gan")' in card


def test_offline_without_the_repo_in_the_cache_says_so(hub_cache):
    with pytest.raises(GankitError, match="not in the Hugging Face Hub cache .* HF_HUB_OFFLINE=1 forbids"):
        load_generator("someone/not-downloaded")


def test_an_unreachable_hub_says_so(hub_cache, monkeypatch, model):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "ENDPOINT", CLOSED_PORT)
    with pytest.raises(GankitError, match=r"no local folder of that name, and the Hugging Face Hub .* could not be "
                                          r"reached.*Connect"):
        load_generator("someone/elsewhere")
    with pytest.raises(GankitError, match=r"push to 'someone/elsewhere' failed \(ConnectError.*network"):
        push_to_hub(model, "someone/elsewhere", api=HfApi(endpoint=CLOSED_PORT, token="hf_test"))


def test_push_refuses_what_is_not_an_export(tmp_path, model):
    with pytest.raises(GankitError, match="not an exported generator"):
        push_to_hub(tmp_path, "someone/x", api=object())
    with pytest.raises(GankitError, match="not a Hub repo id"):
        push_to_hub(model, "not a repo", api=object())
