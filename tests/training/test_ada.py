"""ADA: each op does what StyleGAN2-ADA's does, p follows its update rule, the state resumes exactly."""
import json
import math

import pytest
import torch

from gankit.config.registry import AUGMENTS
from gankit.errors import GankitError
from gankit.training.ada import ADA, COLOUR, GEOMETRIC
from gankit.training.augment_base import Augment

OPS = GEOMETRIC + COLOUR


def only(op, p=1.0, **kw):
    """An ADA applying just ``op`` (every other multiplier 0), with a fixed p."""
    return ADA(p=p, target=None, **{**{o: 0.0 for o in OPS}, op: 1.0, **kw})


def build(**kw):
    return AUGMENTS.build({"name": "ada", **kw}, "augment")


def test_p_zero_is_the_identity():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    assert ADA(p=0.0)(x) is x
    nothing = ADA(p=1.0, **{o: 0.0 for o in OPS})
    assert nothing(x) is x


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("c", [1, 3])
def test_every_op_alone_is_differentiable(op, c):
    torch.manual_seed(0)
    x = torch.randn(6, c, 12, 12, requires_grad=True)
    out = only(op)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gradcheck_of_the_whole_pipeline():
    ada = ADA(p=1.0, target=None)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, requires_grad=True)

    def fn(t):
        torch.manual_seed(5)  # the same draws on every call
        return ada(t)
    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_xflip_flips_half_the_chosen_images_exactly():
    torch.manual_seed(1)
    x = torch.randn(40, 3, 9, 9)
    out = only("xflip")(x)
    flipped = [torch.allclose(o, i.flip(-1), atol=1e-5) for o, i in zip(out, x)]
    kept = [torch.allclose(o, i, atol=1e-5) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept))  # StyleGAN2-ADA: chosen → flip with probability 1/2
    assert 8 < sum(flipped) < 32


def test_rotate90_gives_one_of_the_four_rot90s():
    torch.manual_seed(2)
    x = torch.randn(40, 1, 8, 8)
    out = only("rotate90")(x)
    seen = set()
    for o, i in zip(out, x):
        ks = [k for k in range(4) if torch.allclose(o, torch.rot90(i, k, dims=(-2, -1)), atol=1e-5)]
        assert len(ks) == 1
        seen.add(ks[0])
    assert seen == {0, 1, 2, 3}


def test_integer_translation_moves_a_pixel_by_whole_pixels():
    torch.manual_seed(3)
    x = torch.zeros(30, 1, 32, 32)
    x[:, :, 16, 10] = 1.0
    out = only("xint")(x)  # at most round(0.125·32) = 4 pixels each way
    moves = set()
    for img in out[:, 0]:
        y, xx = divmod(int(img.argmax()), 32)
        assert abs(img[y, xx] - 1) < 1e-5 and img.abs().sum() - img[y, xx] < 1e-4  # one pixel, intact
        assert abs(y - 16) <= 4 and abs(xx - 10) <= 4
        moves.add((y - 16, xx - 10))
    assert len(moves) > 5


def test_brightness_moves_the_mean_only():
    torch.manual_seed(4)
    x = torch.randn(20, 3, 8, 8)
    out = only("brightness")(x)
    shift = out - x
    assert torch.allclose(shift, shift.mean(dim=(1, 2, 3), keepdim=True).expand_as(shift), atol=1e-6)
    assert (shift.flatten(1)[:, 0].abs() > 1e-4).all()
    assert torch.allclose(out.std(dim=(1, 2, 3)), x.std(dim=(1, 2, 3)), atol=1e-5)


def test_contrast_scales_each_image_about_zero():
    torch.manual_seed(5)
    x = torch.randn(20, 3, 8, 8)
    ratio = only("contrast")(x) / x
    assert torch.allclose(ratio, ratio.flatten(1)[:, :1, None, None].expand_as(ratio), rtol=1e-4)
    assert (ratio.flatten(1)[:, 0] > 0).all() and ((ratio.flatten(1)[:, 0] - 1).abs() > 1e-4).all()


def test_saturation_keeps_the_grey_level_and_is_a_no_op_on_one_channel():
    torch.manual_seed(6)
    x = torch.randn(10, 3, 8, 8)
    out = only("saturation")(x)
    assert torch.allclose(out.mean(dim=1), x.mean(dim=1), atol=1e-5)
    assert not torch.allclose(out, x)
    grey = torch.randn(10, 1, 8, 8)
    assert only("saturation")(grey) is grey


@pytest.mark.parametrize("op", ["brightness", "scale", "xfrac"])
def test_share_of_augmented_images_is_p(op):
    torch.manual_seed(7)
    x = torch.rand(2000, 1, 8, 8)
    out = only(op, p=0.3)(x)
    share = ((out - x).abs().flatten(1).amax(1) > 1e-6).float().mean().item()
    assert abs(share - 0.3) < 0.04  # 4 standard deviations of a binomial share at n = 2000


def test_rotation_is_pre_or_post_with_probability_p():
    torch.manual_seed(8)
    x = torch.rand(2000, 1, 8, 8)
    out = only("rotate", p=0.3)(x)
    share = ((out - x).abs().flatten(1).amax(1) > 1e-6).float().mean().item()
    assert abs(share - 0.3) < 0.04


@pytest.mark.parametrize("c", [1, 3])
def test_channels_last_and_bf16(c):
    torch.manual_seed(9)
    x = torch.randn(8, c, 16, 16)
    torch.manual_seed(10)
    ref = ADA(p=0.8, target=None)(x)
    torch.manual_seed(10)
    cl = ADA(p=0.8, target=None)(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(cl, ref, atol=1e-5) and cl.is_contiguous(memory_format=torch.channels_last)
    torch.manual_seed(10)
    bf = ADA(p=0.8, target=None)(x.bfloat16())
    assert bf.dtype == torch.bfloat16 and (bf.float() - ref).abs().mean() < 0.05


def feed(ada, sign, n=8, steps=None):
    for _ in range(steps or ada.interval):
        ada.observe(torch.full((n, 1), float(sign)))
        ada.after_step()


def test_p_moves_by_the_images_seen_over_kimg():
    up = ADA(p=0.5, target=0.6, interval=4, kimg=1)
    feed(up, +1, steps=3)
    assert up.p == 0.5 and math.isnan(up.rt)  # not yet an interval
    feed(up, +1, steps=1)
    assert up.p == 0.5 + 32 / 1000 and up.rt == 1.0
    down = ADA(p=0.5, target=0.6, interval=4, kimg=1)
    feed(down, -1)
    assert down.p == 0.5 - 32 / 1000 and down.rt == -1.0
    mixed = ADA(p=0.5, target=0.6, interval=2, kimg=2)
    for _ in range(2):
        mixed.observe(torch.tensor([3.0, 2.0, -1.0, 0.5]))  # mean sign 0.5 < 0.6
        mixed.after_step()
    assert mixed.rt == 0.5 and mixed.p == 0.5 - 8 / 2000


def test_p_stays_put_at_the_target_and_is_clamped():
    at = ADA(p=0.5, target=0.5, interval=1)
    at.observe(torch.tensor([1.0, -1.0, 1.0, 1.0]))  # 0.5 exactly
    at.after_step()
    assert at.p == 0.5
    hi, lo = ADA(p=0.99, interval=1, kimg=0.001), ADA(p=0.01, interval=1, kimg=0.001)
    feed(hi, +1)
    feed(lo, -1)
    assert hi.p == 1.0 and lo.p == 0.0


def test_fixed_p_never_changes_but_can_be_scheduled():
    ada = ADA(p=0.3, target=None, interval=1, kimg=0.001)
    feed(ada, +1, steps=10)
    assert ada.p == 0.3 and math.isnan(ada.rt)
    ada.p = 0.7  # what a schedule of augment.p does
    assert ada.p == 0.7 and isinstance(ada.p, float)


def test_resume_continues_exactly():
    def rounds(ada, start, stop):
        for i in range(start, stop):
            g = torch.Generator().manual_seed(i)
            ada.observe(torch.randn(5 + i % 3, 1, generator=g) + 0.3)
            ada.after_step()

    kw = dict(p=0.2, target=0.6, interval=3, kimg=0.05)
    whole = ADA(**kw)
    rounds(whole, 0, 20)
    first = ADA(**kw)
    rounds(first, 0, 7)  # mid-interval: the accumulators hold a round
    saved = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    assert saved == first.state_dict() and saved["count"] > 0
    assert all(isinstance(v, (int, float)) or v is None for v in saved.values())
    resumed = ADA(**kw)
    resumed.load_state_dict(saved)
    rounds(resumed, 7, 20)
    assert resumed.p == whole.p and resumed.rt == whole.rt and resumed.state_dict() == whole.state_dict()
    assert whole.p != 0.2


def test_all_reduce_path_in_a_one_process_group(tmp_path):
    dist = torch.distributed
    if not dist.is_available():
        pytest.skip("torch.distributed is not built in")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        ada = ADA(p=0.5, interval=2, kimg=1)
        feed(ada, +1)
        assert ada.p == 0.5 + 16 / 1000
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("key, value", [("p", 1.5), ("p", -0.1), ("target", 2.0), ("interval", 0),
                                        ("interval", 2.5), ("kimg", 0), ("xflip", -1.0),
                                        ("scale_std", float("nan")), ("saturation", "high")])
def test_bad_arguments_name_the_key(key, value):
    with pytest.raises(GankitError, match=rf"augment\.{key}"):
        build(**{key: value})
    with pytest.raises(GankitError, match=r"augment\.xflp.*xflip"):
        build(xflp=1.0)


def test_built_through_the_registry():
    ada = build(p=0.25, target=None, rotate=0.0)
    assert isinstance(ada, ADA) and ada.p == 0.25 and ada.target is None and ada.rotate == 0.0
    with pytest.raises(GankitError, match=r"augment\.p"):
        ada.p = 3.0


def test_ada_declares_its_state_what_it_logs_and_what_it_adapts():
    ada = ADA(target=0.6)
    assert Augment in type(ada).__mro__ and ada.stateful and ada.logged == ("p", "rt")
    assert ada.adapted == {"p": "set augment.target=null"} and ADA(target=None).adapted == {}
