"""DINOv2 features: local repository and weights only, EDM2's preprocessing."""
import textwrap

import pytest
import torch

from gankit.config.registry import FEATURES
from gankit.errors import GankitError

HUBCONF = textwrap.dedent('''
    import torch
    dependencies = ["torch"]


    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = torch.nn.Conv2d(3, 16, 14, stride=14)
            self.head = torch.nn.Linear(16, 1024)

        def forward(self, x):
            assert x.shape[-2:] == (224, 224)
            return self.head(self.patch(x).mean((2, 3)))


    def dinov2_vitl14(pretrained=True):
        assert not pretrained  # gankit loads its own weights file
        torch.manual_seed(123)
        return Tiny()
''')


def test_missing_repository_and_weights_are_one_error(tmp_path, monkeypatch):
    monkeypatch.delenv("GANKIT_DINOV2_WEIGHTS", raising=False)
    monkeypatch.delenv("GANKIT_DINOV2_REPO", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(GankitError) as e:
        FEATURES.build({"name": "dinov2_vitl14"}, "features")
    msg = str(e.value)
    assert str(tmp_path / "hub" / "facebookresearch_dinov2_main") in msg and "GANKIT_DINOV2_REPO" in msg
    assert str(tmp_path / "hub" / "checkpoints" / "dinov2_vitl14_pretrain.pth") in msg and "never downloads" in msg


def test_features_are_edm2s_preprocessing_through_the_local_network(tmp_path, monkeypatch):
    repo = tmp_path / "dinov2"
    repo.mkdir()
    (repo / "hubconf.py").write_text(HUBCONF)
    ns: dict = {}
    exec(HUBCONF, ns)
    torch.manual_seed(7)
    net = ns["Tiny"]()  # other weights than the hub function's own initialisation
    torch.save(net.state_dict(), tmp_path / "w.pth")
    monkeypatch.setenv("GANKIT_DINOV2_REPO", str(repo))
    monkeypatch.setenv("GANKIT_DINOV2_WEIGHTS", str(tmp_path / "w.pth"))
    ex = FEATURES.build({"name": "dinov2_vitl14"}, "features")
    u8 = torch.randint(0, 256, (5, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    ours = ex.extract(u8.float() / 127.5 - 1)["features"]
    # EDM2 calculate_metrics.py, DINOv2Detector (resize_mode 'torch'), on the uint8 images:
    x = torch.nn.functional.interpolate(u8.to(torch.float32), size=(224, 224), mode="bicubic", antialias=True)
    x = x / 255
    x = x - torch.tensor([0.485, 0.456, 0.406]).view(1, -1, 1, 1)
    x = x / torch.tensor([0.229, 0.224, 0.225]).view(1, -1, 1, 1)
    with torch.no_grad():
        ref = net.eval()(x)
    assert ours.shape == (5, 1024) and torch.allclose(ours, ref, rtol=1e-5, atol=1e-6)
    assert len(ex.weights_sha256) == 64
