"""Where a feature network's weights live: one local file per network, never a download.

Every pretrained extractor (Inception-v3, DINOv2, …) reads its weights from ``$<ENV>`` when set,
else from torch hub's ``checkpoints/`` folder (``$TORCH_HOME/hub/checkpoints``, where torch-fidelity
and ``torch.hub`` keep what they download). A missing file or package fails at once, before any
image is generated, with one error that says what to put where.
"""
import importlib.util
import os
from pathlib import Path

import torch

from gankit.errors import GankitError


def weights_path(file_name: str, env: str) -> Path:
    """``$env`` when set, else torch hub's checkpoint folder / ``file_name``."""
    value = os.environ.get(env)
    if value:
        return Path(value).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


def require(extractor: str, path: Path, url: str, env: str, packages: dict[str, str] = (),
            more: tuple[str, ...] = ()) -> None:
    """Raise one GankitError naming every missing piece (packages: import name → pip name; ``more``:
    other missing things, already described)."""
    missing = [f"the {pip} package (pip install {pip})" for mod, pip in dict(packages).items()
               if importlib.util.find_spec(mod) is None]
    missing += list(more)
    if not path.is_file():
        missing.append(f"the weights file {path.name} (download {url} on a machine with internet access and "
                       f"put it at {path}, or set {env} to its path)")
    if missing:
        raise GankitError(f"features: {extractor} needs {' and '.join(missing)}; gankit never downloads weights "
                          f"during evaluation. Provide them, or use a local extractor such as features: lenet_mnist.")
