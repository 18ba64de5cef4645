"""LeNet-style classifiers for 28×28 grayscale data, used as feature extractors.

Outputs per image: ``features`` = the 128-unit penultimate layer BEFORE its ReLU (used by every
feature metric: FD, KID, precision/recall, density/coverage — after the ReLU about half the
units never fire, which breaks k-NN metrics) and ``probs`` = softmax over the 10 classes.
"""
import hashlib
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from gankit.config.registry import FEATURES
from gankit.errors import GankitError
from gankit.metrics.base import FeatureExtractor, trained_on

WEIGHTS_DIR = Path(__file__).parent / "weights"


class LeNet(nn.Module):
    """conv5-32 → pool → conv5-64 → pool → fc128 → fc10 (ReLU between, dropout before fc10)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5)
        self.conv2 = nn.Conv2d(32, 64, 5)
        self.fc1 = nn.Linear(4 * 4 * 64, 128)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(128, num_classes)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc1(x.flatten(1))  # pre-ReLU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(F.relu(self.penultimate(x))))


def to_gray28(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1], (N, C, H, W) → (N, 1, 28, 28): RGB to luminance, bilinear resize."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise GankitError(f"features: expected images of shape (N, 1 or 3, H, W), got {tuple(x.shape)}.")
    x = x.float()
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[-2:] != (28, 28):
        x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return x


@lru_cache(maxsize=None)
def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class LeNetFeatures(FeatureExtractor):
    """A trained LeNet as a feature extractor: ``extract(images) → {"features", "probs"}``."""

    outputs = ("features", "probs")

    def __init__(self, name: str, weights: Path, device="cpu", fast: bool = False):
        if not weights.is_file():
            raise GankitError(
                f"features: weights for '{name}' not found at {weights}. Recreate them with "
                f"`python scripts/train_lenet.py --dataset {name.removeprefix('lenet_')} --root <data folder>`."
            )
        self.name, self.device, self.fast = name, torch.device(device), fast
        self.weights_sha256 = file_sha256(weights)
        self.net = LeNet()
        try:
            self.net.load_state_dict(load_file(str(weights)))
        except Exception as e:  # safetensors raises several types for damaged files
            raise GankitError(f"features: cannot load {weights} ({type(e).__name__}: {e}). Restore the file from git.") from e
        self.net.eval().requires_grad_(False).to(self.device)
        if fast:
            self.net.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def extract(self, images: torch.Tensor, batch_size: int = 1000) -> dict[str, torch.Tensor]:
        feats, probs = [], []
        for chunk in images.split(batch_size):
            x = to_gray28(chunk.to(self.device, non_blocking=True))
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.fast):
                if self.fast:
                    x = x.contiguous(memory_format=torch.channels_last)
                f = self.net.penultimate(x)
                logits = self.net.fc2(F.relu(f))
            feats.append(f.float())
            probs.append(logits.float().softmax(1))
        return {"features": torch.cat(feats), "probs": torch.cat(probs)}


@FEATURES.register("lenet_mnist")
@trained_on("mnist")
def lenet_mnist(device="cpu", fast: bool = False) -> LeNetFeatures:
    """LeNet digit classifier (MNIST): 128 pre-ReLU penultimate features and 10-class softmax."""
    return LeNetFeatures("lenet_mnist", WEIGHTS_DIR / "lenet_mnist.safetensors", device, fast)


@FEATURES.register("lenet_fashion_mnist")
@trained_on("fashion_mnist")
def lenet_fashion_mnist(device="cpu", fast: bool = False) -> LeNetFeatures:
    """LeNet clothing classifier (Fashion-MNIST): 128 pre-ReLU penultimate features and 10-class softmax."""
    return LeNetFeatures("lenet_fashion_mnist", WEIGHTS_DIR / "lenet_fashion_mnist.safetensors", device, fast)
