"""gankit's paper metrics through its Inception path equal torch-fidelity's own calculate_metrics.

No real weights exist here: a network of the FID Inception architecture (torch-fidelity's
FeatureExtractorInceptionV3) gets random weights, is saved as a local file, and is loaded once by
gankit (``GANKIT_INCEPTION_WEIGHTS``) and once by torch-fidelity. The presets' fixed 50k count is
patched down to N; everything else (the evaluator, the uint8 round trip, the formulas, 10 IS splits,
KID subsets of min(1000, N)) runs as in a real evaluation.
"""
import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from gankit.config.recipe import from_container
from gankit.data.base import ImageData
from gankit.metrics import presets
from gankit.metrics.draws import latents
from gankit.metrics.evaluation import Evaluator

tf_inception = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
torch_fidelity = pytest.importorskip("torch_fidelity")
tf_kid = pytest.importorskip("torch_fidelity.metric_kid")

N, Z = 20, 16  # Inception-v3 at 299×299 takes about 0.4 s per image on one CPU core


def random_inception(path):
    """torch-fidelity's FID Inception-v3 with He-normal convolutions and random BN shifts, saved to ``path``."""
    cls = tf_inception.FeatureExtractorInceptionV3
    torch.save({}, path)
    load, cls.load_state_dict = cls.load_state_dict, lambda self, sd, *a, **k: None  # its __init__ would download
    try:
        net = cls("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))
    finally:
        cls.load_state_dict = load
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        _randomize(net, g)
    torch.save(net.state_dict(), path)


def _randomize(net, g):
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2 / m.weight[0].numel()) ** 0.5)
        elif isinstance(m, torch.nn.BatchNorm2d):
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
        elif isinstance(m, torch.nn.Linear):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.05)


class Images(torch.utils.data.Dataset):
    """uint8 images as torch-fidelity reads them."""

    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


class QuantizedG(torch.nn.Module):
    """z → smooth 3×32×32 images on the uint8 grid (so gankit's rounding to uint8 is exact)."""

    def __init__(self):
        super().__init__()
        self.z_dim = Z
        self.lin = torch.nn.Linear(Z, 3 * 8 * 8)
        torch.nn.init.normal_(self.lin.weight, std=0.6, generator=torch.Generator().manual_seed(1))
        torch.nn.init.normal_(self.lin.bias, std=0.3, generator=torch.Generator().manual_seed(2))

    def forward(self, z, y=None):
        x = F.interpolate(torch.tanh(self.lin(z)).view(-1, 3, 8, 8), size=32, mode="bilinear", align_corners=False)
        return ((x + 1) * 127.5).round() / 127.5 - 1


@pytest.mark.slow  # about 40 s on one busy core: 4 × N Inception-v3 passes at 299×299
@pytest.mark.long  # a full-size network's proof: in the long set (`-m long`, run by .ci/run)
def test_fid_kid_is_equal_torch_fidelity_on_the_same_network_and_images(tmp_path, monkeypatch):
    weights = tmp_path / "inception.pth"
    random_inception(weights)
    monkeypatch.setenv("GANKIT_INCEPTION_WEIGHTS", str(weights))
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))
    monkeypatch.setattr(presets.Preset, "num_samples", N)
    g = torch.Generator().manual_seed(2)
    real = F.interpolate(torch.rand(N, 3, 8, 8, generator=g), size=32, mode="bicubic", align_corners=False)
    real = (real.clamp(0, 1) * 255).round().to(torch.uint8)
    G = QuantizedG()
    cfg = from_container({"data": {"name": "synthetic"}, "eval": {"num_samples": 7, "seed": 3},
                          "metrics": [{"name": n} for n in ("fid50k_full", "kid50k_full", "is50k")]})
    ev = Evaluator(cfg, ImageData(real), "cpu")
    ours = ev(G, Accelerator(cpu=True))
    with torch.no_grad():
        fake = ((G(latents(N, Z, 3)) + 1) * 127.5).round().to(torch.uint8)

    theirs = torch_fidelity.calculate_metrics(
        input1=Images(fake), input2=Images(real), fid=True, kid=True, isc=True, cuda=False, verbose=False, cache=False,
        feature_extractor="inception-v3-compat", feature_extractor_weights_path=str(weights), batch_size=N,
        kid_subset_size=N, isc_splits=10, samples_shuffle=False)
    assert ours["fid50k_full"] > 1e-3 and ours["is50k_mean"] > 1.0001  # the sets differ; predictions vary
    assert ours["fid50k_full"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-4)
    # torch-fidelity 0.3 computes KID in float32 (its result is a float32 number), a difference of kernel means
    # of order 1: its rounding is about 1e-7 absolute. gankit works in float64; given float64 features,
    # torch-fidelity's own KID code agrees with it to 1e-9.
    assert ours["kid50k_full"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-4, abs=1e-6)
    features = (ev.generated(G, Accelerator(cpu=True))["inception_v3"]["features"],
                ev.reference("inception_v3")["features"])
    kid64 = tf_kid.kid_features_to_metric(*(f.double() for f in features), kid_subsets=100,
                                          kid_subset_size=N, verbose=False)
    assert ours["kid50k_full"] == pytest.approx(kid64["kernel_inception_distance_mean"], rel=1e-9)
    assert ours["is50k_mean"] == pytest.approx(theirs["inception_score_mean"], rel=1e-4)
    assert ours["is50k_std"] == pytest.approx(theirs["inception_score_std"], rel=1e-3, abs=1e-7)
