"""A dataset generated in memory: rings of random radius (no files needed)."""
import torch

from gankit import DATASETS
from gankit.data import ImageData


@DATASETS.register("example_rings")
def example_rings(size: int = 1024, image_size: int = 16, seed: int = 0) -> ImageData:
    """Grey rings of random radius and thickness on black, 1×S×S, unlabelled."""
    g = torch.Generator().manual_seed(seed)
    c = (image_size - 1) / 2
    yy, xx = torch.meshgrid(torch.arange(image_size), torch.arange(image_size), indexing="ij")
    r = ((yy - c) ** 2 + (xx - c) ** 2).sqrt()[None]
    radius = torch.rand(size, 1, 1, generator=g) * image_size / 4 + image_size / 6
    width = torch.rand(size, 1, 1, generator=g) * 1.5 + 0.75
    img = torch.exp(-((r - radius) ** 2) / (2 * width**2))
    images = (img.clamp(0, 1) * 255).round().to(torch.uint8)[:, None]
    return ImageData(images.contiguous(), None, num_classes=0)
