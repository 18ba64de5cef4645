"""gankit.data.synthetic: deterministic class-dependent blobs."""
import torch

from gankit.config.registry import DATASETS


def synthetic(**kw):
    return DATASETS.build({"name": "synthetic", **kw}, "data")


def test_synthetic_is_deterministic():
    a = DATASETS.build({"name": "synthetic", "size": 16}, "data")
    b = DATASETS.build({"name": "synthetic", "size": 16}, "data")
    assert torch.equal(a.images, b.images) and a.images.shape == (16, 1, 28, 28)


def test_the_seed_changes_the_data():
    a, b = synthetic(size=16, seed=0), synthetic(size=16, seed=1)
    assert not torch.equal(a.images, b.images)


def test_shape_labels_and_class_count_follow_the_arguments():
    d = synthetic(size=40, channels=3, image_size=16, num_classes=4)
    assert d.images.shape == (40, 3, 16, 16) and d.images.dtype == torch.uint8
    assert d.num_classes == 4 and d.labels.shape == (40,) and 0 <= d.labels.min() and d.labels.max() < 4


def test_each_class_has_its_disc_in_its_own_place():
    d = synthetic(size=400, num_classes=4, image_size=16)
    means = torch.stack([d.images[d.labels == k].float().mean(0)[0] for k in range(4)])
    peaks = [divmod(int(m.argmax()), 16) for m in means]
    assert len(set(peaks)) == 4  # four distinct brightest spots
    # class 0 sits at angle 0: to the right of the centre, on the middle row
    y0, x0 = peaks[0]
    assert abs(y0 - 8) <= 1 and x0 >= 11
