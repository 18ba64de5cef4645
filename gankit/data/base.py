"""The one data type every dataset returns, and pixel scaling."""
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F


@dataclass
class ImageData:
    """Images held in memory as one uint8 tensor, batched by indexing.

    ``heldout``: real images kept out of training (``data.holdout``, see ``gankit.data.holdout``),
    for metrics that need fresh real data; None when nothing was held out. ``streamed``: ``images``
    is memory-mapped from disk (``gankit.data.prepared``), so batches are gathered on the host and
    the whole tensor is never copied to the device; ``read_ahead(indices)``, when set, asks the storage
    to start reading those images in the background (the next step's, while this one trains).
    """

    images: torch.Tensor  # uint8, (N, C, H, W)
    labels: torch.Tensor | None = None  # int64, (N,)
    num_classes: int = 0
    heldout: "ImageData | None" = field(default=None, repr=False)
    streamed: bool = False
    read_ahead: Callable[[torch.Tensor], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        assert self.images.dtype == torch.uint8 and self.images.dim() == 4, self.images.shape

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def img_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def resized(self, size: int | None) -> "ImageData":
        if size is None or self.images.shape[-1] == size and self.images.shape[-2] == size:
            return self
        out = []
        for chunk in self.images.split(4096):
            x = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            out.append(x.round_().clamp_(0, 255).to(torch.uint8))
        heldout = self.heldout.resized(size) if self.heldout is not None else None
        return ImageData(torch.cat(out), self.labels, self.num_classes, heldout)


def to_unit_range(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 → float in [-1, 1]."""
    return images_u8.float().mul_(2.0 / 255.0).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] → uint8 pixels 0..255."""
    return images.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
