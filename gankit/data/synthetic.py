"""Small generated images for tests and smoke runs: no files needed."""
import torch

from gankit.config.registry import DATASETS
from gankit.data.base import ImageData


@DATASETS.register("synthetic")
def synthetic(size: int = 512, channels: int = 1, image_size: int = 28, num_classes: int = 10, seed: int = 0) -> ImageData:
    """Blurry class-dependent blobs (class k: a bright disc at a k-dependent place) plus noise; num_classes=0: unlabelled."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, max(num_classes, 1), (size,), generator=g)
    yy, xx = torch.meshgrid(torch.arange(image_size), torch.arange(image_size), indexing="ij")
    angle = labels.float() * (2 * torch.pi / max(num_classes, 1))
    cy = image_size / 2 + image_size / 4 * torch.sin(angle)
    cx = image_size / 2 + image_size / 4 * torch.cos(angle)
    d2 = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2
    img = torch.exp(-d2 / (2 * (image_size / 8) ** 2))
    img = img[:, None].expand(size, channels, image_size, image_size)
    tint = torch.rand(size, channels, 1, 1, generator=g) * 0.5 + 0.5
    noise = torch.rand(size, channels, image_size, image_size, generator=g) * 0.1
    images = ((img * tint + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    return ImageData(images.contiguous(), labels if num_classes else None, num_classes=num_classes)
