"""gankit.data.base: the ImageData container and pixel scaling."""
import pytest
import torch

from gankit.data.base import ImageData, to_uint8, to_unit_range


def test_pixels_scale_to_minus_one_one():
    u8 = torch.tensor([0, 255, 128], dtype=torch.uint8)
    assert to_unit_range(u8).tolist() == pytest.approx([-1.0, 1.0, 128 / 127.5 - 1], abs=1e-6)
    assert torch.equal(to_uint8(to_unit_range(u8)), u8)


def test_to_uint8_clamps_and_rounds_float_images():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 2.5], requires_grad=True)
    out = to_uint8(x)
    assert out.dtype == torch.uint8 and out.tolist() == [0, 0, 128, 255, 255]  # out of range clamps; 0 is mid-grey
    assert torch.equal(to_uint8(to_unit_range(torch.arange(256, dtype=torch.uint8))),
                       torch.arange(256, dtype=torch.uint8))  # every pixel value survives the round trip


def test_to_unit_range_does_not_modify_its_input():
    u8 = torch.tensor([10, 20], dtype=torch.uint8)
    to_unit_range(u8)
    assert u8.tolist() == [10, 20]


def test_resize_keeps_uint8():
    d = ImageData(torch.full((3, 1, 28, 28), 200, dtype=torch.uint8))
    r = d.resized(32)
    assert r.images.shape == (3, 1, 32, 32) and r.images.dtype == torch.uint8 and int(r.images[0, 0, 16, 16]) == 200


def test_resize_keeps_labels_and_class_count_and_is_a_no_op_at_the_same_size():
    d = ImageData(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1]), num_classes=2)
    assert d.resized(None) is d and d.resized(8) is d
    r = d.resized(4)
    assert r.img_shape == (3, 4, 4) and torch.equal(r.labels, d.labels) and r.num_classes == 2


def test_length_and_image_shape():
    d = ImageData(torch.zeros(5, 3, 6, 7, dtype=torch.uint8))
    assert len(d) == 5 and d.img_shape == (3, 6, 7) and d.labels is None and d.num_classes == 0


@pytest.mark.parametrize("images", [torch.zeros(2, 1, 4, 4), torch.zeros(2, 4, 4, dtype=torch.uint8)])
def test_only_uint8_nchw_images_are_accepted(images):
    with pytest.raises(AssertionError):
        ImageData(images)
