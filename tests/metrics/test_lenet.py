"""LeNet feature extractors: input handling, registration, separation and accuracy on real MNIST."""
import pytest
import torch

from gankit.data.base import to_unit_range
from gankit.errors import GankitError
from gankit.metrics.classifier import ModeCoverage
from gankit.metrics.frechet import FrechetDistance
from gankit.config.registry import FEATURES


def test_lenet_accepts_rgb_and_other_sizes():
    ex = FEATURES.build({"name": "lenet_mnist"}, "features")
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    out = ex.extract(x)
    assert out["features"].shape == (5, 128) and out["probs"].shape == (5, 10)
    assert torch.allclose(out["probs"].sum(1), torch.ones(5))
    gray = x.mul(torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert torch.allclose(ex.extract(gray)["features"], out["features"], atol=1e-5)
    with pytest.raises(GankitError, match="expected images of shape"):
        ex.extract(torch.zeros(2, 2, 28, 28))


def test_both_lenets_are_registered_and_small():
    for name in ("lenet_mnist", "lenet_fashion_mnist"):
        entry = FEATURES.entry(name)
        assert entry.doc
        path = entry.obj.__globals__["WEIGHTS_DIR"] / f"{name}.safetensors"
        assert path.stat().st_size < 2_000_000


@pytest.mark.slow
def test_fd_and_mode_coverage_separate_good_from_bad_on_mnist(mnist_root):
    import torchvision.transforms.functional as TF

    from gankit.data.mnist import mnist

    d = mnist(str(mnist_root), "test", download=False)
    perm = torch.randperm(len(d), generator=torch.Generator().manual_seed(0))
    x, y = to_unit_range(d.images[perm]), d.labels[perm]
    n = 2000
    real_a, real_b = x[:n], x[n:2 * n]
    g = torch.Generator().manual_seed(1)
    ones = x[n:][y[n:] == 1]
    ones = ones[torch.randint(0, len(ones), (n,), generator=g)]
    ex = FEATURES.build({"name": "lenet_mnist"}, "features")
    ref = ex.extract(real_a)["features"]
    sets = [real_b, (real_b + 0.2 * torch.randn(real_b.shape, generator=g)).clamp(-1, 1),
            TF.gaussian_blur(real_b, 5, 1.0), ones, torch.rand(real_b.shape, generator=g) * 2 - 1]
    outs = [ex.extract(s) for s in sets]
    fds = [FrechetDistance()(ref, o["features"])["fd"] for o in outs]
    assert fds == sorted(fds), fds
    assert fds[0] < 30 and fds[1] > 2 * fds[0] and fds[-1] > 100 * fds[0]
    assert ModeCoverage()(None, outs[0]["probs"])["modes"] == 10
    assert ModeCoverage()(None, outs[3]["probs"])["modes"] == 1


@pytest.mark.slow
def test_lenet_mnist_accuracy_on_the_test_split(mnist_root):
    from gankit.data.mnist import mnist

    d = mnist(str(mnist_root), "test", download=False)
    probs = FEATURES.build({"name": "lenet_mnist"}, "features").extract(to_unit_range(d.images))["probs"]
    assert (probs.argmax(1) == d.labels).float().mean() > 0.98
