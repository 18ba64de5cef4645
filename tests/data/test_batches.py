"""gankit.data.batches: batches and noise as pure functions of (seed, index), shared across processes."""
import os
import subprocess
import sys

import pytest
import torch

from gankit.data.base import ImageData
from gankit.data.batches import BatchStream, NoiseStream, stable_seed


def numbered(n, labels=True):
    """n images whose pixels all equal the image's index (so a batch tells which images it holds)."""
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return ImageData(images, torch.arange(n) if labels else None)


def ids(x):
    """The image indices of a batch of numbered images (undoing the [-1, 1] scaling)."""
    return ((x[:, 0, 0, 0] + 1) * 127.5).round().long()


def test_batches_cover_each_epoch_once_and_shard_across_processes():
    n, B = 20, 8
    data = ImageData(torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous(),
                     torch.arange(n))
    one = BatchStream(data, B, seed=1, device="cpu")
    assert one.steps_per_epoch == 2  # the incomplete last batch is dropped
    seen = torch.cat([one.batch(i)[1] for i in range(2)])
    assert len(set(seen.tolist())) == 16  # no repeats within an epoch
    assert not torch.equal(one.batch(0)[1], one.batch(2)[1])  # reshuffled next epoch
    x, y = one.batch(0)
    assert x.dtype == torch.float32 and torch.allclose(x[:, 0, 0, 0], y.float() * 2 / 255 - 1)
    ranks = [BatchStream(data, B, seed=1, device="cpu", rank=r, world=2) for r in range(2)]
    for i in range(4):
        assert torch.equal(torch.cat([r.batch(i)[1] for r in ranks]), one.batch(i)[1])
    # a fresh stream reproduces the same order (exact resume needs no sampler state)
    assert torch.equal(BatchStream(data, B, seed=1, device="cpu").batch(3)[1], one.batch(3)[1])


def test_batch_i_is_a_pure_function_of_seed_and_index():
    data = numbered(32)
    a, b = BatchStream(data, 8, seed=5, device="cpu"), BatchStream(data, 8, seed=5, device="cpu")
    order = [7, 0, 3, 3, 12, 1]  # any access order, repeated indices, later epochs
    for i in order:
        xa, ya = a.batch(i)
        xb, yb = b.batch(i)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert torch.equal(a.batch(2)[0], BatchStream(data, 8, seed=5, device="cpu").batch(2)[0])
    other = BatchStream(data, 8, seed=6, device="cpu")
    assert not all(torch.equal(a.batch(i)[1], other.batch(i)[1]) for i in range(4))


def test_every_image_appears_once_per_epoch_and_labels_follow_images():
    data = numbered(24)
    s = BatchStream(data, 6, seed=0, device="cpu")
    assert s.steps_per_epoch == 4
    for epoch in range(3):
        batches = [s.batch(epoch * 4 + i) for i in range(4)]
        seen = torch.cat([ids(x) for x, _ in batches])
        assert sorted(seen.tolist()) == list(range(24))
        assert all(torch.equal(ids(x), y) for x, y in batches)


def test_images_are_scaled_to_minus_one_one():
    data = ImageData(torch.tensor([0, 255, 128, 64], dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 1, 3, 3).contiguous())
    x, y = BatchStream(data, 4, seed=0, device="cpu").batch(0)
    assert y is None and x.dtype == torch.float32 and x.min() == -1 and x.max() == 1
    assert sorted(x[:, 0, 0, 0].tolist()) == pytest.approx([-1, 64 / 127.5 - 1, 128 / 127.5 - 1, 1], abs=1e-6)


@pytest.mark.parametrize("world, micro", [(2, 1), (1, 2), (2, 2), (4, 2)])
def test_process_shares_and_micro_batches_tile_the_global_batch(world, micro):
    data, B = numbered(40), 16
    whole = BatchStream(data, B, seed=3, device="cpu")
    parts = [BatchStream(data, B, seed=3, device="cpu", rank=r, world=world, micro=micro) for r in range(world)]
    assert all(p.local == B // (world * micro) for p in parts)
    for i in range(5):  # across an epoch boundary (2 steps per epoch)
        x, y = whole.batch(i)
        pieces = [p.batch(i, m) for m in range(micro) for p in parts]  # micro-batch major, then rank
        assert torch.equal(torch.cat([px for px, _ in pieces]), x)
        assert torch.equal(torch.cat([py for _, py in pieces]), y)
    # the share slices partition 0..B-1
    positions = [j for m in range(micro) for p in parts for j in range(B)[p.share(m)]]
    assert positions == list(range(B))


@pytest.mark.parametrize("world, micro", [(1, 1), (2, 2)])
def test_read_ahead_is_told_the_next_steps_images_once_per_step(world, micro):
    """A streamed dataset's ``read_ahead`` hears, after the last micro-batch of step i, exactly the
    images this process will gather for step i + 1 (across an epoch boundary too)."""
    data, B, told = numbered(40), 16, []
    data.read_ahead = lambda idx: told.append(sorted(idx.tolist()))
    for rank in range(world):
        told.clear()
        stream = BatchStream(data, B, seed=3, device="cpu", rank=rank, world=world, micro=micro)
        for i in range(4):  # 2 steps per epoch
            gathered = [ids(stream.batch(i, m)[0]).tolist() for m in range(micro)]
            assert len(told) == i + 1  # once per step, after its last micro-batch
            if i:
                assert told[i - 1] == sorted(sum(gathered, []))
        assert told[-1] == sorted(torch.cat([stream.indices(4, m) for m in range(micro)]).tolist())


@pytest.mark.parametrize("batch, world, micro, words", [(8, 3, 1, "3 processes"),
                                                       (8, 2, 3, "2 processes × 3 accumulation steps"),
                                                       (6, 2, 2, "2 processes × 2 accumulation steps")])
def test_batch_size_must_divide_into_processes_and_micro_batches(batch, world, micro, words):
    with pytest.raises(ValueError, match=f"batch size {batch} is not divisible by {words}"):
        BatchStream(numbered(20), batch, seed=0, device="cpu", world=world, micro=micro)


def test_batch_larger_than_the_dataset_is_refused():
    with pytest.raises(ValueError, match="exceeds the 5 images"):
        BatchStream(numbered(5), 8, seed=0, device="cpu")


def test_channels_last_layout():
    data = ImageData(torch.zeros(4, 3, 4, 4, dtype=torch.uint8))
    x, _ = BatchStream(data, 2, seed=0, device="cpu", channels_last=True).batch(0)
    assert x.is_contiguous(memory_format=torch.channels_last)


def noise_pair(num_classes=5, seed=11, world=1, micro=1, rank=0, B=8):
    stream = BatchStream(numbered(16), B, seed=0, device="cpu", rank=rank, world=world, micro=micro)
    return NoiseStream(z_dim=3, num_classes=num_classes, stream=stream, seed=seed, device="cpu")


def test_noise_same_key_same_draw_different_keys_differ():
    a, b = noise_pair(), noise_pair()
    za, ya = a(4, local=False)
    zb, yb = b(4, local=False)
    assert za.shape == (8, 3) and ya.shape == (8,)
    assert torch.equal(za, zb) and torch.equal(ya, yb)
    assert torch.equal(a(4, "g", 1)[0], b(4, "g", 1)[0])
    for other in (a(5, local=False)[0], a(4, "g", local=False)[0], a(4, "g", 1, local=False)[0],
                  noise_pair(seed=12)(4, local=False)[0]):
        assert not torch.allclose(za, other)


def test_noise_local_share_is_the_matching_slice_of_the_global_draw():
    world, micro = 2, 2
    full, _ = noise_pair(world=world, micro=micro)(9, local=False)
    ylab = noise_pair(world=world, micro=micro)(9, local=False)[1]
    for r in range(world):
        noise = noise_pair(world=world, micro=micro, rank=r)
        for m in range(micro):
            sl = noise.stream.share(m)
            z, y = noise(9, micro=m)
            assert z.shape == (2, 3) and torch.equal(z, full[sl]) and torch.equal(y, ylab[sl])
    # the local draws of all processes and micro-batches rebuild the global one
    tiles = [noise_pair(world=world, micro=micro, rank=r)(9, micro=m)[0] for m in range(micro) for r in range(world)]
    assert torch.equal(torch.cat(tiles), full)


def test_noise_labels_in_range_or_none_and_n_overrides_the_batch_size():
    z, y = noise_pair(num_classes=3)(0, n=200, local=False)
    assert z.shape == (200, 3) and y.dtype == torch.int64
    assert y.min() >= 0 and y.max() < 3 and len(y.unique()) == 3
    z, y = noise_pair(num_classes=0)(0)
    assert y is None and z.shape == (8, 3)


def test_stable_seed_is_stable_and_distinguishes_parts():
    assert stable_seed(1, "data", 0) == stable_seed(1, "data", 0)
    # the same in another process with another string-hash seed (Python's str hash() is not), so resumes
    # and every rank see the same data
    code = "from gankit.data.batches import stable_seed; print(stable_seed(1, 'data', 0))"
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": hash_seed}).stdout
        assert int(out) == stable_seed(1, "data", 0)
    seeds = {stable_seed(s, kind, i) for s in (0, 1) for kind in ("data", "noise") for i in range(3)}
    assert len(seeds) == 12 and all(0 <= s < 2**62 for s in seeds)
