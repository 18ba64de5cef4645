"""Batches by indexing an in-memory uint8 tensor: shuffled per epoch, sharded per process.

Batch ``i`` of a run is a pure function of (seed, i): epoch ``i // steps_per_epoch`` uses the
permutation seeded by (seed, epoch). A global batch is split into ``micro`` consecutive
micro-batches (gradient accumulation), and process ``r`` of ``n`` takes its slice of each.
Any process count and any accumulation therefore see exactly the same images per step, and
resuming at batch ``i`` continues the exact data order, with no sampler state.
"""
import hashlib

import torch

from gankit.data.base import ImageData


def stable_seed(*parts) -> int:
    """A generator seed from ``parts`` that is the same in every process and every run.

    (Python's ``hash()`` of a string changes from one process to the next, so it cannot be used.)
    """
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % (2**62)


class BatchStream:
    def __init__(self, data: ImageData, batch_size: int, seed: int, device, rank: int = 0, world: int = 1,
                 channels_last: bool = False, micro: int = 1):
        if batch_size % (world * micro):
            split = f"{world} processes × {micro} accumulation steps" if micro > 1 else f"{world} processes"
            raise ValueError(f"batch size {batch_size} is not divisible by {split}")
        if batch_size > len(data):
            raise ValueError(f"batch size {batch_size} exceeds the {len(data)} images of the dataset")
        self.host = "cpu" if data.streamed else device  # where images are indexed: a memory map stays on the host
        self.images = data.images.to(self.host)
        self.labels = data.labels.to(self.host) if data.labels is not None else None
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.micro = micro
        self.local = batch_size // (world * micro)  # images per process per forward
        self.offset = rank * self.local
        self.steps_per_epoch = len(data) // batch_size  # the last incomplete batch is dropped
        self.channels_last = channels_last
        self.read_ahead = data.read_ahead
        self._epoch, self._perm = None, None

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(stable_seed(self.seed, "data", epoch))
            self._perm = torch.randperm(self.images.shape[0], generator=g).to(self.host)
            self._epoch = epoch
        return self._perm

    def share(self, micro: int = 0) -> slice:
        """This process's positions within a global batch, for micro-batch ``micro``."""
        start = micro * (self.batch_size // self.micro) + self.offset
        return slice(start, start + self.local)

    def indices(self, index: int, micro: int = 0) -> torch.Tensor:
        """Which images make this process's share of global batch ``index`` (micro-batch ``micro``)."""
        epoch, pos = divmod(index, self.steps_per_epoch)
        start = pos * self.batch_size + self.share(micro).start
        return self.permutation(epoch)[start:start + self.local]

    def batch(self, index: int, micro: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This process's share of global batch ``index`` (micro-batch ``micro``): images in [-1, 1], labels."""
        idx = self.indices(index, micro)
        x = self.images.index_select(0, idx)
        if self.read_ahead is not None and micro == self.micro - 1:  # the next step's images load during this one
            self.read_ahead(torch.cat([self.indices(index + 1, m) for m in range(self.micro)]))
        x = x.to(self.device, non_blocking=True).float().mul_(2.0 / 255.0).sub_(1.0)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, (self.labels.index_select(0, idx).to(self.device) if self.labels is not None else None)


class NoiseStream:
    """Latents (and labels, for a class-conditional run) as a pure function of (seed, key).

    ``noise(index)`` is global batch ``index``'s draw, ``noise(index, "g", k)`` another stream
    for the same batch; ``local`` keeps this process's share of micro-batch ``micro``, the same
    positions as its real images in ``BatchStream``.
    """

    def __init__(self, z_dim: int, num_classes: int, stream: BatchStream, seed: int, device):
        self.z_dim, self.num_classes, self.stream = z_dim, num_classes, stream
        self.seed, self.device = seed, device

    def __call__(self, *key, n: int | None = None, local: bool = True, micro: int = 0):
        n = n or self.stream.batch_size
        g = torch.Generator().manual_seed(stable_seed(self.seed, "noise", *key))
        z = torch.randn(n, self.z_dim, generator=g)
        y = torch.randint(0, self.num_classes, (n,), generator=g) if self.num_classes else None
        if local:
            sl = self.stream.share(micro)
            z, y = z[sl], (y[sl] if y is not None else None)
        return z.to(self.device, non_blocking=True), (y.to(self.device, non_blocking=True) if y is not None else None)
