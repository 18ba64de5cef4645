"""DiffAugment: shape-preserving, differentiable, each op doing what it says."""
import pytest
import torch

from gankit.training import augment
from gankit.errors import GankitError
from gankit.config.registry import AUGMENTS
from gankit.training.augment_base import Augment


def build(**kw):
    return AUGMENTS.build({"name": "diffaugment", **kw}, "augment")


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (3, 3, 32, 32), (2, 3, 64, 64)])
@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_shape_preserved_and_differentiable(shape, policy):
    torch.manual_seed(0)
    x = torch.randn(shape, requires_grad=True)
    out = build(policy=policy)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_is_an_integer_shift_with_zero_fill():
    torch.manual_seed(3)
    x = torch.arange(1, 1 + 16 * 16, dtype=torch.float32).view(1, 1, 16, 16).repeat(6, 1, 1, 1)
    out = augment.translation(x, translation_ratio=0.125)  # shifts of at most 2 pixels
    for img in out[:, 0]:
        nz = img.nonzero()
        (y0, x0), (y1, x1) = nz.min(0).values.tolist(), nz.max(0).values.tolist()
        dy, dx = int(img[y0, x0].item() - 1) // 16 - y0, int(img[y0, x0].item() - 1) % 16 - x0
        assert abs(dy) <= 2 and abs(dx) <= 2
        # every kept pixel is the source pixel shifted by (dy, dx); the rest is zero
        src = x[0, 0]
        ys, xs = torch.arange(y0, y1 + 1), torch.arange(x0, x1 + 1)
        assert torch.equal(img[y0:y1 + 1, x0:x1 + 1], src[(ys + dy)][:, xs + dx])
        assert (img != 0).sum() == (y1 - y0 + 1) * (x1 - x0 + 1)


def test_translation_gradient_is_a_routing():
    x = torch.randn(5, 2, 8, 8, requires_grad=True)
    augment.translation(x).sum().backward()
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}  # each input pixel used at most once


def test_cutout_zeros_a_square_of_half_the_side():
    torch.manual_seed(1)
    x = torch.ones(20, 3, 16, 16)
    out = augment.cutout(x, cutout_ratio=0.5)
    zeros = (out == 0).all(dim=1)  # the same mask on every channel
    assert torch.equal((out == 0).any(dim=1), zeros)
    counts = zeros.flatten(1).sum(1)
    assert (counts <= 64).all() and (counts > 0).all() and (counts == 64).any()


def test_color_ops_match_their_formulas():
    x = torch.randn(4, 3, 5, 5)
    torch.manual_seed(7)
    r = torch.rand(4, 1, 1, 1)
    torch.manual_seed(7)
    assert torch.allclose(augment.brightness(x), x + r - 0.5)
    torch.manual_seed(7)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(augment.contrast(x), (x - m) * (r + 0.5) + m, atol=1e-6)
    torch.manual_seed(7)
    m = x.mean(dim=1, keepdim=True)
    assert torch.allclose(augment.saturation(x), (x - m) * (2 * r) + m, atol=1e-6)


def test_probability_zero_is_identity_and_bad_policy_names_the_key():
    x = torch.randn(2, 1, 8, 8)
    assert build(p=0.0)(x) is x
    with pytest.raises(GankitError, match="augment.policy"):
        build(policy="color,flip")


def test_diffaugment_keeps_the_augment_contracts_defaults():
    aug = augment.DiffAugment(policy="color")
    x = torch.zeros(2, 1, 4, 4)
    assert Augment in type(aug).__mro__ and aug.observe(x) is None and aug.after_step() is None
    assert (aug.stateful, aug.state_dict(), aug.logged, aug.adapted) == (False, {}, (), {})
