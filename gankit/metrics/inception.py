"""Inception-v3 (the FID network) via torch-fidelity, only from locally available weights.

Nothing is downloaded at evaluation time: without the package or the weights file this
extractor fails at once with a GankitError that says how to get them.
"""
from pathlib import Path

import torch

from gankit.config.registry import FEATURES
from gankit.errors import GankitError
from gankit.metrics import local_weights
from gankit.metrics.base import FeatureExtractor
from gankit.metrics.lenet import file_sha256

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}"
WEIGHTS_ENV = "GANKIT_INCEPTION_WEIGHTS"


def weights_path() -> Path:
    """$GANKIT_INCEPTION_WEIGHTS, else torch hub's checkpoint folder (where torch-fidelity caches it)."""
    return local_weights.weights_path(WEIGHTS_FILE, WEIGHTS_ENV)


class InceptionFeatures(FeatureExtractor):
    """torch-fidelity's FID Inception-v3: 2048 pool features and 1008-way softmax (unbiased logits)."""

    outputs = ("features", "probs")

    def __init__(self, device="cpu"):
        path = weights_path()
        local_weights.require("inception_v3", path, WEIGHTS_URL, WEIGHTS_ENV, {"torch_fidelity": "torch-fidelity"})
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.name, self.device = "inception_v3", torch.device(device)
        self.weights_sha256 = file_sha256(path)
        try:
            self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                   feature_extractor_weights_path=str(path)).eval().to(self.device)
        except Exception as e:  # torch.load and load_state_dict raise several types
            raise GankitError(f"features: cannot load Inception-v3 weights from {path} ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}). Put the file {WEIGHTS_FILE} there "
                              f"(or set {WEIGHTS_ENV}).") from None

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
