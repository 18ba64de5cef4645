"""VGG16 fc7 features as NVlabs' ``pr50k3_full`` reads them, from a local state dict only.

NVlabs (stylegan2-ada-pytorch, metrics/precision_recall.py) calls its TorchScript ``vgg16.pt`` with
``return_features=True`` on uint8 RGB images: bilinear resize to 224×224 as TensorFlow 1.x does it
(no half-pixel centres), ImageNet mean/std, VGG16 up to fc7 after its ReLU (4096). gankit builds
torchvision's ``vgg16`` architecture (no download) and loads a plain state dict with
``torch.load(weights_only=True)``: ``$GANKIT_VGG16_WEIGHTS``, else torch hub's ``checkpoints/``
folder. ``python scripts/convert_vgg16.py vgg16.pt OUT`` makes that state dict from NVlabs' file
(``from_nvlabs`` renames its ``layers.conv1``…``layers.fc3`` to torchvision's keys).
"""
from pathlib import Path

import torch

from gankit.config.registry import FEATURES
from gankit.errors import GankitError
from gankit.metrics import local_weights
from gankit.metrics.base import FeatureExtractor
from gankit.metrics.lenet import file_sha256

WEIGHTS_FILE = "vgg16-nvlabs-state-dict.pth"
NVLABS_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/vgg16.pt"
WEIGHTS_ENV = "GANKIT_VGG16_WEIGHTS"
MEAN, STD, SIDE = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 224
# torchvision's vgg16: the 13 convolutions in ``features``, the 3 linear layers in ``classifier``
CONVS, LINEARS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28), (0, 3, 6)


def weights_path() -> Path:
    """$GANKIT_VGG16_WEIGHTS, else torch hub's checkpoint folder / vgg16-nvlabs-state-dict.pth."""
    return local_weights.weights_path(WEIGHTS_FILE, WEIGHTS_ENV)


def from_nvlabs(state: dict) -> dict:
    """NVlabs' vgg16.pt state dict (``layers.conv1``…``conv13``, ``layers.fc1``…``fc3``; its LPIPS
    weights are dropped) → torchvision vgg16's keys (``features.N``, ``classifier.N``)."""
    names = [(f"layers.conv{i + 1}", f"features.{n}") for i, n in enumerate(CONVS)]
    names += [(f"layers.fc{i + 1}", f"classifier.{n}") for i, n in enumerate(LINEARS)]
    return {f"{dst}.{p}": state[f"{src}.{p}"] for src, dst in names for p in ("weight", "bias")}


def resize_tf1(x: torch.Tensor, side: int = SIDE) -> torch.Tensor:
    """Bilinear resize as TensorFlow 1.x ``resize_bilinear`` (align_corners=False, no half-pixel
    centres): output pixel j reads input position j·in/out, the neighbour clamped at the border."""
    for dim in (2, 3):
        n = x.shape[dim]
        src = torch.arange(side, dtype=torch.float64, device=x.device) * (n / side)
        lo = src.floor().long().clamp(max=n - 1)
        hi = (lo + 1).clamp(max=n - 1)
        shape = [1, 1, 1, 1]
        shape[dim] = side
        w = (src - lo).to(x.dtype).view(shape)
        a = x.index_select(dim, lo)
        x = a + (x.index_select(dim, hi) - a) * w
    return x


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] → NVlabs' VGG16 input: uint8 levels, TF1 bilinear to 224², ImageNet-normalised."""
    x = images.float().add(1).mul(127.5).round().clamp(0, 255)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = resize_tf1(x) / 255
    return (x - x.new_tensor(MEAN).view(1, 3, 1, 1)) / x.new_tensor(STD).view(1, 3, 1, 1)


class VGG16Features(FeatureExtractor):
    """VGG16 fc7 features after the ReLU (4096), as NVlabs' vgg16.pt gives them for precision/recall."""

    outputs = ("features",)

    def __init__(self, device="cpu"):
        path = weights_path()
        how = f"{NVLABS_URL}, convert it with python scripts/convert_vgg16.py vgg16.pt {WEIGHTS_FILE}"
        local_weights.require("vgg16_pr", path, how, WEIGHTS_ENV)
        from torchvision.models import vgg16

        self.name, self.device = "vgg16_pr", torch.device(device)
        self.weights_sha256 = file_sha256(path)
        try:
            with torch.device("meta"):  # no random initialisation: every tensor comes from the file
                net = vgg16(weights=None)
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), assign=True)
        except Exception as e:  # torch.load and load_state_dict raise several types
            raise GankitError(f"features: cannot load VGG16 weights from {path} ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}). Put torchvision vgg16's state dict "
                              f"{WEIGHTS_FILE} there (or set {WEIGHTS_ENV}); docs/metrics.md says how to make "
                              f"it from NVlabs' vgg16.pt.") from None
        net.classifier = net.classifier[:5]  # fc6, ReLU, dropout, fc7, ReLU: fc7 after its ReLU
        self.net = net.eval().requires_grad_(False).to(self.device)

    @torch.no_grad()
    def extract(self, images: torch.Tensor, batch_size: int = 64) -> dict[str, torch.Tensor]:
        out = [self.net(preprocess(chunk.to(self.device))).float().cpu() for chunk in images.split(batch_size)]
        return {"features": torch.cat(out)}


@FEATURES.register("vgg16_pr")
def vgg16_pr(device="cpu") -> VGG16Features:
    """VGG16 fc7 features (4096) as NVlabs' pr50k3_full reads them; needs a local state dict, never downloads."""
    return VGG16Features(device)
