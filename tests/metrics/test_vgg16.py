"""VGG16 fc7 features for pr50k3_full: a local state dict only, NVlabs' preprocessing, NVlabs' key layout."""
import sys
from pathlib import Path

import pytest
import torch
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
from torchvision.models import vgg16 as tv_vgg16

from gankit.config.registry import FEATURES
from gankit.errors import GankitError
from gankit.metrics import vgg16

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import convert_vgg16  # noqa: E402  (scripts/convert_vgg16.py, run once offline)


def test_missing_weights_fail_naming_the_path(tmp_path, monkeypatch):
    monkeypatch.delenv("GANKIT_VGG16_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(GankitError) as e:
        FEATURES.build({"name": "vgg16_pr"}, "features")
    msg = str(e.value)
    assert str(tmp_path / "hub" / "checkpoints" / "vgg16-nvlabs-state-dict.pth") in msg
    assert "GANKIT_VGG16_WEIGHTS" in msg and vgg16.NVLABS_URL in msg and "convert_vgg16.py" in msg
    assert "never downloads" in msg


def test_a_file_that_is_not_a_vgg16_state_dict_is_one_error(tmp_path, monkeypatch):
    torch.save({"features.0.weight": torch.zeros(2)}, tmp_path / "w.pth")
    monkeypatch.setenv("GANKIT_VGG16_WEIGHTS", str(tmp_path / "w.pth"))
    with pytest.raises(GankitError, match=r"cannot load VGG16 weights from .*w\.pth.*GANKIT_VGG16_WEIGHTS"):
        FEATURES.build({"name": "vgg16_pr"}, "features")


def test_resize_is_tensorflow1_bilinear():
    x = torch.rand(2, 3, 28, 37, generator=torch.Generator().manual_seed(0)) * 255
    ref = interpolate_bilinear_2d_like_tensorflow1x(x, size=(224, 224), align_corners=False)
    assert torch.allclose(vgg16.resize_tf1(x), ref, atol=1e-3)
    assert torch.equal(vgg16.resize_tf1(ref), ref)  # at 224 already: unchanged


def _random_state_dict(seed: int) -> dict:
    """torchvision vgg16's keys and shapes, random values (He-scaled weights); fc6 (4096 × 25088) as a
    Hankel view of one random vector (row i = v[i:i + 25088], stride (1, 1)), so the file holds 36 M
    numbers, not 138 M, and fc6's rows still differ."""
    g = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in tv_vgg16(weights=None).state_dict().items()}
    sd = {}
    for k, s in shapes.items():
        scale = (2 / s[1:].numel()) ** 0.5 if len(s) > 1 else 0.1
        sd[k] = torch.randn(s, generator=g) * scale if k != "classifier.0.weight" else None
    v = torch.randn(4096 + 25088 - 1, generator=g) * (2 / 25088) ** 0.5
    sd["classifier.0.weight"] = v.as_strided((4096, 25088), (1, 1))
    return sd


def test_features_are_fc7_after_relu_of_the_local_network(tmp_path, monkeypatch):
    sd = _random_state_dict(0)
    torch.save(sd, tmp_path / "vgg.pth")
    monkeypatch.setenv("GANKIT_VGG16_WEIGHTS", str(tmp_path / "vgg.pth"))
    ex = FEATURES.build({"name": "vgg16_pr"}, "features")
    u8 = torch.randint(0, 256, (2, 3, 32, 32), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    ours = ex.extract(u8.float() / 127.5 - 1)["features"]
    # NVlabs' convention, written out: uint8 → TF1 bilinear 224² → ImageNet mean/std → VGG16 → fc7 → ReLU
    x = interpolate_bilinear_2d_like_tensorflow1x(u8.float(), size=(224, 224), align_corners=False)
    x = (x - 255 * torch.tensor(vgg16.MEAN).view(1, 3, 1, 1)) / (255 * torch.tensor(vgg16.STD).view(1, 3, 1, 1))
    with torch.no_grad():
        loaded = ex.net.state_dict()  # the file's tensors, not an initialisation; the classifier ends at fc7
        assert set(loaded) == set(sd) - {"classifier.6.weight", "classifier.6.bias"}
        assert all(torch.equal(loaded[k], sd[k]) for k in loaded)
        f = ex.net.avgpool(ex.net.features(x)).flatten(1)
        f = torch.relu(f @ sd["classifier.0.weight"].T + sd["classifier.0.bias"])
        ref = torch.relu(f @ sd["classifier.3.weight"].T + sd["classifier.3.bias"])
    assert ours.shape == (2, 4096) and (ours >= 0).all() and (ours > 0).any() and (ours == 0).any()
    assert torch.allclose(ours, ref, rtol=1e-4, atol=1e-4)
    assert len(ex.weights_sha256) == 64 and ex.outputs == ("features",)


class _NVlabsLayout(torch.nn.Module):
    """Tensors named as in NVlabs' vgg16.pt (layers.conv1..13, layers.fc1..3, lpips0..4), tiny shapes."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Module()
        for i in range(13):
            self.layers.add_module(f"conv{i + 1}", torch.nn.Conv2d(2, 2, 1))
        for i in range(3):
            self.layers.add_module(f"fc{i + 1}", torch.nn.Linear(2, 2))
        for i in range(5):
            self.register_parameter(f"lpips{i}", torch.nn.Parameter(torch.ones(2)))

    def forward(self, x):
        return x


@pytest.mark.filterwarnings("ignore:`torch.jit")  # deprecated in new torch; NVlabs' file is TorchScript
def test_conversion_renames_nvlabs_torchscript_to_torchvision_keys(tmp_path, capsys):
    net = _NVlabsLayout()
    torch.jit.save(torch.jit.script(net), tmp_path / "vgg16.pt")
    convert_vgg16.main([str(tmp_path / "vgg16.pt"), str(tmp_path / "out.pth")])
    out = torch.load(tmp_path / "out.pth", weights_only=True)
    with torch.device("meta"):
        keys = set(tv_vgg16(weights=None).state_dict())
    assert set(out) == keys  # every torchvision key, no LPIPS weights
    assert torch.equal(out["features.28.weight"], net.layers.conv13.weight)
    assert torch.equal(out["features.5.bias"], net.layers.conv3.bias)
    assert torch.equal(out["classifier.3.weight"], net.layers.fc2.weight)
    assert "sha256" in capsys.readouterr().out
