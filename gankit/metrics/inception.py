"""Inception-v3 (the FID network) via torch-fidelity, only from locally available weights.

Nothing is downloaded at evaluation time: without the package or the weights file this
extractor fails at once with a GankitError that says how to get them.
"""
import importlib.util
import os
from pathlib import Path

import torch

from gankit.config.registry import FEATURES
from gankit.errors import GankitError
from gankit.metrics.base import FeatureExtractor
from gankit.metrics.lenet import file_sha256

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}"


def weights_path() -> Path:
    """$GANKIT_INCEPTION_WEIGHTS, else torch hub's checkpoint folder (where torch-fidelity caches it)."""
    env = os.environ.get("GANKIT_INCEPTION_WEIGHTS")
    if env:
        return Path(env).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


class InceptionFeatures(FeatureExtractor):
    """torch-fidelity's FID Inception-v3: 2048 pool features and 1008-way softmax."""

    outputs = ("features", "probs")

    def __init__(self, device="cpu"):
        path = weights_path()
        missing = []
        if importlib.util.find_spec("torch_fidelity") is None:
            missing.append("the torch-fidelity package (pip install torch-fidelity)")
        if not path.is_file():
            missing.append(f"the weights file {WEIGHTS_FILE} (download {WEIGHTS_URL} on a machine with "
                           f"internet access and put it at {path}, or set GANKIT_INCEPTION_WEIGHTS to its path)")
        if missing:
            raise GankitError(
                f"features: inception_v3 needs {' and '.join(missing)}; gankit never downloads weights during "
                f"evaluation. Provide them, or use a local extractor such as features: lenet_mnist."
            )
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.name, self.device = "inception_v3", torch.device(device)
        self.weights_sha256 = file_sha256(path)
        self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                               feature_extractor_weights_path=str(path)).eval().to(self.device)

    @torch.no_grad()
    def extract(self, images: torch.Tensor, batch_size: int = 100) -> dict[str, torch.Tensor]:
        feats, probs = [], []
        for chunk in images.split(batch_size):
            x = chunk.to(self.device).float().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            f, logits = self.net(x)
            feats.append(f.float().cpu())
            probs.append(logits.float().softmax(1).cpu())
        return {"features": torch.cat(feats), "probs": torch.cat(probs)}


@FEATURES.register("inception_v3")
def inception_v3(device="cpu") -> InceptionFeatures:
    """Inception-v3 FID features (2048) via torch-fidelity; needs local weights, never downloads."""
    return InceptionFeatures(device)
