"""The papers' presets: NVlabs' formulas, their fixed counts, the full real set, and local weights only."""
import json

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from gankit.cli import main
from gankit.config.recipe import from_container
from gankit.data.base import ImageData
from gankit.data.synthetic import synthetic
from gankit.errors import GankitError
from gankit.metrics import presets
from gankit.metrics.evaluation import Evaluator
from gankit.metrics.frechet import frechet_distance, gaussian_fit
from gankit.metrics.kid import kernel_distance
from gankit.metrics.knn import batched_precision_recall
from gankit.metrics.lenet import LeNetFeatures


class TinyG(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.z_dim = 8
        self.lin = torch.nn.Linear(8, 784)

    def forward(self, z, y=None):
        return torch.tanh(self.lin(z)).view(-1, 1, 28, 28)


def nvlabs_is(probs: np.ndarray, num_splits: int = 10):
    """stylegan2-ada-pytorch metrics/inception_score.py, as written there (numpy)."""
    num_gen = probs.shape[0]
    scores = []
    for i in range(num_splits):
        part = probs[i * num_gen // num_splits: (i + 1) * num_gen // num_splits]
        kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
        kl = np.mean(np.sum(kl, axis=1))
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def test_inception_score_is_nvlabs_formula():
    probs = torch.softmax(torch.randn(103, 12, generator=torch.Generator().manual_seed(0)) * 2, 1).double()
    mean, std = presets.inception_score(probs, splits=10)
    ref = nvlabs_is(probs.numpy())
    assert mean == pytest.approx(ref[0], rel=1e-12) and std == pytest.approx(ref[1], rel=1e-9)
    with pytest.raises(ValueError):
        presets.inception_score(probs[:5], splits=10)


def _cfg(**eval_kw):
    return from_container({"data": {"name": "synthetic", "size": 300}, "eval": {"num_samples": 30, **eval_kw},
                           "metrics": [{"name": "fid50k_full", "features": "lenet_mnist"},
                                       {"name": "kid50k_full", "features": "lenet_mnist"}, {"name": "fd"}]})


def test_presets_read_their_own_count_of_the_one_draw_against_every_real_image(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(presets.Preset, "num_samples", 50)  # 50,000 in earnest
    ev = Evaluator(_cfg(), synthetic(size=300), "cpu")
    assert [p.num_samples for p in ev.plan] == [50, 50, 30] and ev.num_samples == 50
    G, acc = TinyG(), Accelerator(cpu=True)
    out = ev(G, acc)
    fake = ev.generated(G, acc)["lenet_mnist"]["features"]
    real = ev.reference("lenet_mnist")["features"]
    assert fake.shape[0] == 50 and real.shape[0] == 300
    assert out["fid50k_full"] == pytest.approx(frechet_distance(*gaussian_fit(real), *gaussian_fit(fake)), rel=1e-9)
    assert out["fd"] == pytest.approx(frechet_distance(*gaussian_fit(real), *gaussian_fit(fake[:30])), rel=1e-9)
    assert out["kid50k_full"] == pytest.approx(kernel_distance(real, fake, 100, 1000, 0)[0], rel=1e-9)
    floors = []  # the preset's floor: its own count, two disjoint real halves, the mean over the splits
    for s in range(5):
        perm = torch.randperm(300, generator=torch.Generator().manual_seed(ev.ecfg.seed + 1 + s))
        a, b = real[perm[:50]], real[perm[50:100]]
        floors.append(frechet_distance(*gaussian_fit(a), *gaussian_fit(b)))
    assert ev.floor()["fid50k_full"] == pytest.approx(sum(floors) / 5, rel=1e-9)


def test_a_preset_refuses_a_real_subset():
    with pytest.raises(GankitError, match=r"metrics\[0\]: 'fid50k_full' compares with every real image.*"
                                          r"eval.real_samples=null"):
        Evaluator(_cfg(real_samples=100), synthetic(size=300), "cpu")
    pr = from_container({"data": {"name": "synthetic", "size": 300}, "eval": {"real_samples": 100},
                         "metrics": [{"name": "pr50k3_full", "features": "lenet_mnist"}]})
    with pytest.raises(GankitError, match=r"metrics\[0\]: 'pr50k3_full' compares with every real image"):
        Evaluator(pr, synthetic(size=300), "cpu")
    Evaluator(_cfg(real_samples=300), synthetic(size=300), "cpu")  # all of them: fine


def test_missing_inception_weights_fail_when_the_evaluator_is_built(tmp_path, monkeypatch):
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cfg = from_container({"data": {"name": "synthetic"}, "metrics": [{"name": "fid50k_full"}]})
    with pytest.raises(GankitError) as e:
        Evaluator(cfg, synthetic(size=50), "cpu")
    assert str(tmp_path / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth") in str(e.value)
    assert "never downloads" in str(e.value)


def test_real_features_are_cached_once_and_recomputed_when_the_images_change(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    calls = []
    real_extract = LeNetFeatures.extract
    monkeypatch.setattr(LeNetFeatures, "extract", lambda self, x, **k: (calls.append(len(x)), real_extract(self, x))[1])
    data = synthetic(size=300)
    first = Evaluator(_cfg(), data, "cpu").reference("lenet_mnist")
    again = Evaluator(_cfg(), data, "cpu").reference("lenet_mnist")
    assert calls == [300] and torch.equal(first["features"], again["features"])  # the extractor ran once
    images = data.images.clone()
    images[7, 0, 3, 3] ^= 1  # one pixel of one image, same dataset node
    changed = Evaluator(_cfg(), ImageData(images, data.labels, data.num_classes), "cpu").reference("lenet_mnist")
    assert calls == [300, 300] and not torch.equal(changed["features"], first["features"])


def test_pr50k3_full_is_nvlabs_batched_pr_of_its_own_count_on_the_evaluators_device(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(presets.Preset, "num_samples", 40)
    seen = []
    real_pr = presets.batched_precision_recall
    monkeypatch.setattr(presets, "batched_precision_recall", lambda *a, **k: (seen.append(k), real_pr(*a, **k))[1])
    cfg = from_container({"data": {"name": "synthetic", "size": 120}, "eval": {"num_samples": 30},
                          "metrics": [{"name": "pr50k3_full", "features": "lenet_mnist"}]})
    ev = Evaluator(cfg, synthetic(size=120), "cpu")
    assert presets.PR50k3Full().features == "vgg16_pr" and ev.plan[0].num_samples == 40
    G, acc = TinyG(), Accelerator(cpu=True)
    out = ev(G, acc)
    real, fake = ev.reference("lenet_mnist")["features"], ev.generated(G, acc)["lenet_mnist"]["features"]
    assert fake.shape[0] == 40 and real.shape[0] == 120 and seen[0]["device"] == torch.device("cpu")
    p, r = batched_precision_recall(real, fake, 3)
    assert (out["pr50k3_full_precision"], out["pr50k3_full_recall"]) == (p, r)


def test_pr50k3_full_and_its_extractor_are_listed(capsys):
    for kind, name in (("metrics", "pr50k3_full"), ("features", "vgg16_pr")):
        assert main(["list", kind, "--json"]) == 0
        assert name in [e["name"] for e in json.loads(capsys.readouterr().out)["registries"][kind]]
