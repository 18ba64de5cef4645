"""The memorisation metric: copies of training images score 1, fresh real images score about q."""
import pytest
import torch
from accelerate import Accelerator

from gankit.config.recipe import from_container
from gankit.config.registry import FEATURES, METRICS
from gankit.data.base import ImageData, to_unit_range
from gankit.data.holdout import hold_out
from gankit.data.mnist import mnist
from gankit.data.synthetic import synthetic
from gankit.errors import GankitError
from gankit.metrics.evaluation import Evaluator
from gankit.metrics.memorisation import memorisation, nearest_distances

pytestmark = pytest.mark.xdist_group("memorisation")  # one worker builds the module's fixtures once

N_DATA, HOLDOUT, N_FRESH = 3000, 500, 600


@pytest.fixture(scope="module")
def split(mnist_root):
    """The first 3000 MNIST test images with 500 held out, and 600 other test images training never saw."""
    full = mnist(str(mnist_root), "test", download=False)
    data = hold_out(ImageData(full.images[:N_DATA], full.labels[:N_DATA], 10), HOLDOUT)
    fresh = full.images[N_DATA:N_DATA + N_FRESH]
    return data, fresh


@pytest.fixture(scope="module")
def feats(split):
    data, fresh = split
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    ex = FEATURES.build({"name": "lenet_mnist"}, "features")
    f = lambda u8: ex.extract(to_unit_range(u8))["features"]  # noqa: E731
    noise = torch.randint(0, 256, (300, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    out = {"train": f(data.images), "held": f(data.heldout.images), "fresh": f(fresh), "noise": f(noise)}
    torch.set_num_threads(old)
    return out


def test_nearest_distances_match_brute_force_and_copies_are_at_zero():
    g = torch.Generator().manual_seed(0)
    ref, query = torch.randn(700, 16, generator=g) * 5 + 40, torch.randn(300, 16, generator=g) * 5 + 40
    exact = torch.cdist(query.double(), ref.double()).min(1).values
    assert torch.allclose(nearest_distances(query, ref, chunk=64), exact, atol=1e-9)
    assert torch.equal(nearest_distances(ref[:50], ref), torch.zeros(50, dtype=torch.float64))
    with pytest.raises(ValueError):
        nearest_distances(query, ref[:, :3])


def test_copies_of_training_images_are_memorised(feats):
    out = memorisation(feats["train"], feats["train"][:500], feats["held"])
    assert out == {"memorised": 1.0, "nn_ratio": 0.0}


@pytest.mark.parametrize("q", [0.05, 0.2])
def test_fresh_real_images_score_about_q(feats, q):
    out = memorisation(feats["train"], feats["fresh"], feats["held"], q=q)
    assert abs(out["memorised"] - q) < 0.05 and 0.85 < out["nn_ratio"] < 1.15, out
    assert memorisation(feats["train"], feats["held"], feats["held"], q=q)["memorised"] == pytest.approx(q, abs=0.01)


def test_noise_images_are_not_memorised(feats):
    assert memorisation(feats["train"], feats["noise"], feats["held"])["memorised"] < 0.01


def test_without_heldout_images_the_metric_says_to_set_data_holdout(feats):
    for held in (None, feats["held"][:0]):
        with pytest.raises(GankitError, match=r"Set data\.holdout: N"):
            memorisation(feats["train"], feats["fresh"], held)


def test_the_registry_builds_it_and_checks_its_arguments():
    m = METRICS.build({"name": "memorisation", "q": 0.1, "source": "holdout"}, "metrics[0]")
    assert (m.q, m.source, m.heldout, m.features) == (0.1, "holdout", True, None)
    for bad in ({"q": 0}, {"q": 1.5}, {"source": "val"}):
        key = next(iter(bad))  # the error names the argument's own recipe key
        with pytest.raises(GankitError, match=rf"metrics\[0\]\.{key}: metric 'memorisation' rejected"):
            METRICS.build({"name": "memorisation", **bad}, "metrics[0]")


class BankG(torch.nn.Module):
    """A "generator" that returns images of a bank, the one for sample i chosen by its latent row."""

    def __init__(self, bank_u8):
        super().__init__()
        self.z_dim, self.bank = 4, to_unit_range(bank_u8)

    def forward(self, z, y=None):
        return self.bank[(z[:, 0].abs() * 1e4).long() % len(self.bank)]


def _cfg(root, **data):
    node = {"name": "mnist", "root": str(root), "split": "test", "download": False, **data}
    return from_container({"data": node, "eval": {"num_samples": 500}, "metrics": [{"name": "memorisation"}]})


@pytest.fixture
def stats_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))
    return tmp_path / "stats"


def test_through_the_evaluator_copier_vs_fresh_and_the_real_floor(split, stats_dir, mnist_root):
    data, fresh = split
    acc = Accelerator(cpu=True)
    ev = Evaluator(_cfg(mnist_root, holdout=HOLDOUT), data, "cpu")
    assert ev._heldout["auto"][1] == "holdout"
    copier = ev(BankG(data.images), acc)
    assert copier["memorised"] == 1.0 and copier["nn_ratio"] == 0.0
    novel = ev(BankG(fresh), acc)
    assert abs(novel["memorised"] - 0.05) < 0.05 and 0.85 < novel["nn_ratio"] < 1.15, novel
    floor = ev.floor(500)  # training images the reference subset lacks: fresh data too
    assert abs(floor["memorised"] - 0.05) < 0.05 and floor["floor_n"] == 500
    assert len(list(stats_dir.glob("*.safetensors"))) == 2  # training and held-out features, cached


def test_the_evaluator_refuses_a_run_without_heldout_images(split, stats_dir, mnist_root):
    data, _ = split
    with pytest.raises(GankitError, match=r"metrics\[0\]: .*data\.holdout is 0 and the recipe trains on the test "
                                          r"split of 'mnist'\. Set data\.holdout: N"):
        Evaluator(_cfg(mnist_root), ImageData(data.images, data.labels, 10), "cpu")
    cfg = from_container({"data": {"name": "synthetic", "size": 50}, "metrics": [{"name": "memorisation"}]})
    with pytest.raises(GankitError, match=r"dataset 'synthetic' has no test split\. Set data\.holdout: N"):
        Evaluator(cfg, synthetic(size=50), "cpu")
