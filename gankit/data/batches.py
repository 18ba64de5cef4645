"""Batches by indexing an in-memory uint8 tensor: shuffled per epoch, sharded per process.

Batch ``i`` of a run is a pure function of (seed, i): epoch ``i // steps_per_epoch`` uses the
permutation seeded by (seed, epoch), and process ``r`` of ``n`` takes its slice of the global
batch. Resuming at batch ``i`` therefore continues the exact data order, with no sampler state.
"""
import torch

from .base import ImageData


class BatchStream:
    def __init__(self, data: ImageData, batch_size: int, seed: int, device, rank: int = 0, world: int = 1,
                 channels_last: bool = False):
        if batch_size % world:
            raise ValueError(f"batch size {batch_size} is not divisible by {world} processes")
        if batch_size > len(data):
            raise ValueError(f"batch size {batch_size} exceeds the {len(data)} images of the dataset")
        self.images = data.images.to(device)
        self.labels = data.labels.to(device) if data.labels is not None else None
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.local = batch_size // world
        self.offset = rank * self.local
        self.steps_per_epoch = len(data) // batch_size  # the last incomplete batch is dropped
        self.channels_last = channels_last
        self._epoch, self._perm = None, None

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(hash((self.seed, "data", epoch)) & (2**62))
            self._perm = torch.randperm(self.images.shape[0], generator=g).to(self.device)
            self._epoch = epoch
        return self._perm

    def batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This process's share of global batch ``index``: images in [-1, 1] and labels."""
        epoch, pos = divmod(index, self.steps_per_epoch)
        start = pos * self.batch_size + self.offset
        idx = self.permutation(epoch)[start:start + self.local]
        x = self.images.index_select(0, idx).float().mul_(2.0 / 255.0).sub_(1.0)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, (self.labels.index_select(0, idx) if self.labels is not None else None)
