"""DINOv2 ViT-L/14 features (FD_DINOv2 as EDM2 reports it), from a local repository and a local weights file.

The architecture comes from a local copy of github.com/facebookresearch/dinov2 (``$GANKIT_DINOV2_REPO``,
else torch hub's cache of it, ``$TORCH_HOME/hub/facebookresearch_dinov2_main``), built by
``torch.hub.load(..., source="local", pretrained=False)``; its weights from ``dinov2_vitl14_pretrain.pth``
through the same local-weights path as Inception (``$GANKIT_DINOV2_WEIGHTS``, else torch hub's
``checkpoints/``). Images go in as EDM2's ``calculate_metrics.py`` (resize mode ``torch``) feeds them:
uint8 RGB, bicubic antialiased resize to 224×224, ImageNet mean/std; the output is the 1024-d
normalised class token. FD in these features is ``{name: fd, features: dinov2_vitl14}``.
"""
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit.config.registry import FEATURES
from gankit.errors import GankitError
from gankit.metrics import local_weights
from gankit.metrics.lenet import file_sha256

WEIGHTS_FILE = "dinov2_vitl14_pretrain.pth"
WEIGHTS_URL = f"https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/{WEIGHTS_FILE}"
WEIGHTS_ENV, REPO_ENV = "GANKIT_DINOV2_WEIGHTS", "GANKIT_DINOV2_REPO"
MEAN, STD, SIDE = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 224


def repo_dir() -> Path:
    """$GANKIT_DINOV2_REPO, else where ``torch.hub.load("facebookresearch/dinov2", ...)`` keeps its copy."""
    env = os.environ.get(REPO_ENV)
    return Path(env).expanduser() if env else Path(torch.hub.get_dir()) / "facebookresearch_dinov2_main"


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] → EDM2's DINOv2 input: uint8 levels, bicubic (antialiased) to 224², ImageNet-normalised."""
    x = images.float().add(1).mul(127.5).round().clamp(0, 255)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = F.interpolate(x, size=(SIDE, SIDE), mode="bicubic", antialias=True) / 255
    return (x - x.new_tensor(MEAN).view(1, 3, 1, 1)) / x.new_tensor(STD).view(1, 3, 1, 1)


class DINOv2Features:
    """DINOv2 ViT-L/14 class-token features (1024)."""

    outputs = ("features",)

    def __init__(self, device="cpu"):
        repo, path = repo_dir(), local_weights.weights_path(WEIGHTS_FILE, WEIGHTS_ENV)
        more = () if (repo / "hubconf.py").is_file() else (
            f"the DINOv2 source (git clone https://github.com/facebookresearch/dinov2 on a machine with internet "
            f"access, copy it to {repo}, or set {REPO_ENV} to its folder)",)
        local_weights.require("dinov2_vitl14", path, WEIGHTS_URL, WEIGHTS_ENV, more=more)
        self.name, self.device = "dinov2_vitl14", torch.device(device)
        self.weights_sha256 = file_sha256(path)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "xFormers")
                net = torch.hub.load(str(repo), "dinov2_vitl14", source="local", pretrained=False)
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as e:  # hub code, torch.load and load_state_dict raise several types
            raise GankitError(f"features: cannot build DINOv2 ViT-L/14 from {repo} with {path} ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}). Check both against {WEIGHTS_URL} and "
                              f"the dinov2 repository.") from None
        self.net = net.eval().requires_grad_(False).to(self.device)

    @torch.no_grad()
    def extract(self, images: torch.Tensor, batch_size: int = 64) -> dict[str, torch.Tensor]:
        out = [self.net(preprocess(chunk.to(self.device))).float().cpu() for chunk in images.split(batch_size)]
        return {"features": torch.cat(out)}


@FEATURES.register("dinov2_vitl14")
def dinov2_vitl14(device="cpu") -> DINOv2Features:
    """DINOv2 ViT-L/14 features (1024, FD_DINOv2 as EDM2); needs a local dinov2 repository and weights file."""
    return DINOv2Features(device)
