"""Any folder of images (PNG/JPEG/...), grayscale or RGB, resized and held in memory."""
from pathlib import Path

import torch

from gankit.errors import GankitError
from gankit.config.registry import DATASETS
from gankit.data.base import ImageData

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}


@DATASETS.register("image_folder")
def image_folder(root: str, image_size: int = 64, channels: int = 3, max_images: int | None = None) -> ImageData:
    """Every image under root (subfolders = classes when there are several), center-cropped and resized."""
    from PIL import Image
    import torchvision.transforms.functional as TF

    root_path = Path(root).expanduser()
    if not root_path.is_dir():
        raise GankitError(f"data.root: image folder '{root}' does not exist. Point data.root at a folder of images.")
    files = sorted(p for p in root_path.rglob("*") if p.suffix.lower() in EXTENSIONS)[:max_images]
    if not files:
        raise GankitError(
            f"data.root: no images ({', '.join(sorted(EXTENSIONS))}) found under '{root}'. Point data.root at a folder of images."
        )
    classes = sorted({p.parent for p in files})
    class_index = {c: i for i, c in enumerate(classes)}
    mode = "L" if channels == 1 else "RGB"
    out = torch.empty(len(files), channels, image_size, image_size, dtype=torch.uint8)
    for i, p in enumerate(files):
        try:
            with Image.open(p) as im:
                t = TF.pil_to_tensor(im.convert(mode))
        except OSError as e:
            raise GankitError(f"data.root: cannot read image {p}: {e}. Remove or replace the file.") from e
        t = TF.resize(t, image_size, antialias=True)
        out[i] = TF.center_crop(t, [image_size, image_size])
    labels = torch.tensor([class_index[p.parent] for p in files])
    return ImageData(out, labels, num_classes=len(classes) if len(classes) > 1 else 0)
