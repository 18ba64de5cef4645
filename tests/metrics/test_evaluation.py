"""Evaluator: reproducible generation, the reference-feature cache, defaults and errors."""
import json

import pytest
import torch
from accelerate import Accelerator

from gankit.data.synthetic import synthetic
from gankit.errors import GankitError
from gankit.metrics.base import trained_on
from gankit.metrics.evaluation import Evaluator, default_features
from gankit.metrics.lenet import LeNetFeatures
from gankit.config.recipe import from_container
from gankit.config.registry import FEATURES


class TinyG(torch.nn.Module):
    """A fixed linear map z → 1×28×28 image, tanh."""

    def __init__(self, conditional=False):
        super().__init__()
        self.z_dim, self.conditional, self.num_classes = 8, conditional, 10
        self.lin = torch.nn.Linear(8 + 10, 784)
        torch.nn.init.normal_(self.lin.weight, std=0.5, generator=torch.Generator().manual_seed(0))

    def forward(self, z, y=None):
        onehot = torch.nn.functional.one_hot(y, 10).float() if y is not None else torch.zeros(len(z), 10)
        return torch.tanh(self.lin(torch.cat([z, onehot], 1))).view(-1, 1, 28, 28)


def _cfg(**eval_kw):
    return from_container({"data": {"name": "synthetic", "size": 300}, "eval": {"num_samples": 700, **eval_kw},
                           "metrics": [{"name": "fd"}, {"name": "mode_coverage"}, {"name": "kid", "subsets": 3}]})


@pytest.fixture
def stats_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))
    return tmp_path / "stats"


@pytest.fixture(scope="module")
def acc():
    return Accelerator(cpu=True)


def test_same_seed_same_results_and_exactly_n_samples(stats_dir, acc):
    data = synthetic(size=300)
    ev = Evaluator(_cfg(), data, "cpu")
    G = TinyG()
    fake = ev.generated(G, acc)["lenet_mnist"]
    assert fake["features"].shape == (700, 128) and fake["probs"].shape == (700, 10)
    a, b = ev(G, acc), Evaluator(_cfg(), data, "cpu")(G, acc)
    a.pop("eval_s"), b.pop("eval_s")
    assert a == b and set(a) == {"fd", "modes", "modes_kl", "kid", "kid_std"}
    other = Evaluator(_cfg(seed=7), data, "cpu")(G, acc)
    assert other["fd"] != a["fd"]
    assert G.training  # the caller's mode is restored


def test_generated_images_are_measured_clamped_to_the_real_range(stats_dir, acc):
    """A G whose image overshoots [-1, 1] (a linear or tanh_margin output) is measured as its saved
    picture would be, like the real images: clamped; values beyond the range score nothing extra."""
    G = TinyG()
    ev = Evaluator(_cfg(), synthetic(size=300), "cpu")
    over = TinyG()
    over.forward = lambda z, y=None: 1.5 * G(z, y)  # ~40 % of the pixels beyond ±1
    assert (over(torch.randn(4, 8)).abs() > 1).float().mean() > 0.2
    clamped = TinyG()
    clamped.forward = lambda z, y=None: over(z, y).clamp(-1, 1)
    a, b = ev.generated(over, acc)["lenet_mnist"], ev.generated(clamped, acc)["lenet_mnist"]
    assert torch.equal(a["features"], b["features"])
    assert not torch.equal(a["features"], ev.generated(G, acc)["lenet_mnist"]["features"])


def test_conditional_generator_gets_labels_spread_by_index(stats_dir, acc):
    seen = []
    G = TinyG(conditional=True)
    orig = G.forward
    G.forward = lambda z, y=None: (seen.append(y), orig(z, y))[1]
    Evaluator(_cfg(), synthetic(size=300), "cpu").generated(G, acc)
    assert torch.equal(torch.cat(seen), torch.arange(700) % 10)


def test_reference_cache_hit_miss_and_invalidation(stats_dir, monkeypatch):
    calls = []
    real_extract = LeNetFeatures.extract
    monkeypatch.setattr(LeNetFeatures, "extract", lambda self, x, **k: (calls.append(len(x)), real_extract(self, x))[1])
    data = synthetic(size=300)
    first = Evaluator(_cfg(), data, "cpu").reference("lenet_mnist")
    assert calls == [300]  # miss: computed
    files = sorted(p.name for p in stats_dir.iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".safetensors")
    meta = json.loads((stats_dir / files[0]).read_text())
    assert meta["count"] == 300 and meta["extractor"] == "lenet_mnist" and len(meta["weights_sha256"]) == 64
    second = Evaluator(_cfg(), data, "cpu").reference("lenet_mnist")
    assert calls == [300]  # hit: nothing recomputed
    assert torch.equal(first["features"], second["features"])
    Evaluator(_cfg(real_samples=200), data, "cpu").reference("lenet_mnist")  # another count
    assert calls == [300, 200]
    changed = from_container({"data": {"name": "synthetic", "size": 300, "seed": 1}})
    Evaluator(changed, synthetic(size=300, seed=1), "cpu").reference("lenet_mnist")  # other data args
    assert calls == [300, 200, 300]
    monkeypatch.setattr("gankit.metrics.lenet.file_sha256", lambda p: "0" * 64)  # new weights
    Evaluator(_cfg(), data, "cpu").reference("lenet_mnist")
    assert calls == [300, 200, 300, 300]


def test_relative_data_root_is_keyed_by_absolute_path(tmp_path, monkeypatch):
    from gankit.metrics.evaluation import _absolute_root

    monkeypatch.chdir(tmp_path)
    assert _absolute_root({"name": "mnist", "root": "data"})["root"] == str(tmp_path / "data")
    assert _absolute_root({"name": "synthetic"}) == {"name": "synthetic"}


def test_damaged_cache_file_is_recomputed(stats_dir):
    data = synthetic(size=300)
    Evaluator(_cfg(), data, "cpu").reference("lenet_mnist")
    for p in stats_dir.glob("*.safetensors"):
        p.write_bytes(b"garbage")
    out = Evaluator(_cfg(), data, "cpu").reference("lenet_mnist")
    assert out["features"].shape == (300, 128)


def test_default_features_and_metrics():
    assert default_features("mnist", (1, 28, 28)) == "lenet_mnist"
    assert default_features("fashion_mnist", (1, 32, 32)) == "lenet_fashion_mnist"
    assert default_features("synthetic", (1, 28, 28)) == "lenet_mnist"
    assert default_features("image_folder", (3, 64, 64)) == "inception_v3"
    ev = Evaluator(from_container({"data": {"name": "synthetic"}}), synthetic(size=50), "cpu")
    assert [type(p.metric).__name__ for p in ev.plan] == ["FrechetDistance", "ClassifierScore", "ModeCoverage"]


def test_unknown_metric_or_extractor_is_a_clear_error():
    data = synthetic(size=50)
    with pytest.raises(GankitError, match=r"metrics\[0\].name: unknown metric 'fid'. Did you mean 'fd'"):
        Evaluator(from_container({"metrics": [{"name": "fid"}]}), data, "cpu")
    with pytest.raises(GankitError, match=r"metrics\[0\].features: unknown feature extractor 'lenet'"):
        Evaluator(from_container({"metrics": [{"name": "fd", "features": "lenet"}]}), data, "cpu")


def test_floor_uses_disjoint_real_halves(stats_dir):
    ev = Evaluator(_cfg(), synthetic(size=300), "cpu")
    fl = ev.floor(1000)
    assert fl["floor_n"] == 150 and fl["modes"] >= 1 and fl["fd"] >= 0


def test_default_features_come_from_what_extractors_declare():
    @trained_on("my_scans")
    def scan_features(device="cpu"):
        """Features of a network trained on my_scans."""

    FEATURES.register("scan_features")(scan_features)
    try:
        assert default_features("my_scans", (1, 128, 128)) == "scan_features"
        assert default_features("other_scans", (1, 128, 128)) == "inception_v3"
    finally:
        FEATURES._entries.pop("scan_features")
    assert "scan_features" not in FEATURES


def test_floor_is_the_mean_over_five_random_splits_and_names_its_counts(stats_dir, acc):
    ev = Evaluator(_cfg(), synthetic(size=300), "cpu")
    fl = ev.floor(1000)
    fds = ev.floor_values["fd"]
    assert fl["floor_splits"] == 5 and len(fds) == 5 and len(set(fds)) == 5  # five different splits
    assert fl["fd"] == pytest.approx(sum(fds) / 5)
    assert ev.floor_described["fd"].label("fd") == "fd (lenet_mnist, 150 vs 150)"
    ev(TinyG(), acc)
    assert ev.described["fd"].label("fd") == "fd (lenet_mnist, 700 vs 300)"
    assert ev.described["kid"].features == "lenet_mnist"
