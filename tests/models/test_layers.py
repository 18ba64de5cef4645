"""gankit.models.layers: size checks, norm layers, spectral norm, conditional BatchNorm, init, image outputs."""
import math

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.models.layers import (TANH_MARGIN, ConditionalBatchNorm2d, apply_spectral_norm, conv_plan, image_output,
                                  init_dcgan, maybe_sn, min_side, norm2d, require_classes, square_size)

parametrized = nn.utils.parametrize.is_parametrized


def test_conditional_bn_uses_class_scale_and_shift():
    cbn = ConditionalBatchNorm2d(2, 3)
    with torch.no_grad():
        cbn.gamma.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.5, 0.0]]))
        cbn.beta.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, -1.0], [0.0, 4.0]]))
    x = torch.randn(6, 2, 3, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    normed = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    expected = normed * cbn.gamma.weight[y][:, :, None, None] + cbn.beta.weight[y][:, :, None, None]
    assert torch.allclose(cbn(x, y), expected, atol=1e-5)


def test_conditional_bn_init_and_eval_uses_running_statistics():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(64, 10)
    assert not cbn.bn.affine and cbn.beta.weight.abs().max() == 0
    g = cbn.gamma.weight
    assert abs(g.mean().item() - 1) < 0.01 and 0.01 < g.std().item() < 0.03  # N(1, 0.02): classes differ at once
    cbn.eval()
    x, y = torch.randn(4, 64, 2, 2) * 3 + 2, torch.tensor([0, 1, 2, 3])
    # fresh running stats (mean 0, var 1): eval output is x · γ_y + β_y, up to the eps
    expected = x / (1 + 1e-5) ** 0.5 * g[y][:, :, None, None]
    assert torch.allclose(cbn(x, y), expected, atol=1e-5)


@pytest.mark.parametrize("name, kind", [("batch", nn.BatchNorm2d), ("instance", nn.InstanceNorm2d),
                                        ("layer", nn.GroupNorm), ("none", nn.Identity)])
def test_norm2d_builds_each_named_norm(name, kind):
    m = norm2d(name, 6, "discriminator")
    assert type(m) is kind
    if name == "instance":
        assert m.affine and m.num_features == 6
    if name == "layer":  # one group: LayerNorm over (C, H, W) of each sample
        assert m.num_groups == 1 and m.num_channels == 6
        out = m(torch.randn(3, 6, 4, 4) * 5 + 2)
        assert torch.allclose(out.mean((1, 2, 3)), torch.zeros(3), atol=1e-5)
        assert torch.allclose(out.var((1, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)


def test_norm2d_error_names_the_key_and_the_choices():
    with pytest.raises(GankitError, match=r"^critic\.body\.norm: unknown norm 'batchy'") as e:
        norm2d("batchy", 4, "critic.body")
    assert all(choice in str(e.value) for choice in ("batch", "instance", "layer", "none"))


def test_square_size_returns_channels_and_side_or_names_the_role():
    assert square_size((3, 32, 32), "generator", "dcgan", "32") == (3, 32)
    with pytest.raises(GankitError, match=r"^discriminator: dcgan needs square images .*3×32×16.*data\.image_size"):
        square_size((3, 32, 16), "discriminator", "dcgan", "32, 64")


def test_min_side_returns_channels_or_names_the_role_and_its_name_key():
    assert min_side((2, 8, 9), 8, "discriminator", "resnet") == 2
    with pytest.raises(GankitError, match=r"^discriminator: resnet needs images of at least 8×8 .*1×8×7"
                                          r".*data\.image_size ≥ 8.*discriminator\.name"):
        min_side((1, 8, 7), 8, "discriminator", "resnet")


@pytest.mark.parametrize("side, start, n", [(16, 4, 2), (28, 7, 2), (32, 4, 3), (56, 7, 3), (64, 4, 4),
                                            (112, 7, 4), (128, 4, 5), (256, 4, 6)])
def test_conv_plan_factors_the_side(side, start, n):
    assert conv_plan((3, side, side), "generator", "dcgan") == (3, start, n)
    assert start * 2 ** n == side


@pytest.mark.parametrize("side", [8, 14, 30, 100, 24])
def test_conv_plan_refuses_other_sides_naming_the_role(side):
    with pytest.raises(GankitError, match=rf"^generator: dcgan cannot build 1×{side}×{side} .*data\.image_size"
                                          r".*generator\.name"):
        conv_plan((1, side, side), "generator", "dcgan")


def test_require_classes():
    assert require_classes(10, "generator", "conditional") == 10
    for bad in (0, 1, None):
        with pytest.raises(GankitError, match=rf"^discriminator: 'projection' is conditional.*num_classes={bad}"):
            require_classes(bad, "discriminator", "projection")


def test_maybe_sn():
    lin = nn.Linear(3, 3)
    assert maybe_sn(lin, False) is lin and not parametrized(lin)
    assert maybe_sn(lin, True) is lin and parametrized(lin, "weight")


def with_spectrum(shape, top):
    """A weight of ``shape`` (out, in, ...) whose reshaped (out, rest) matrix has singular values top, 1, 0.5, ..."""
    out, rest = shape[0], int(torch.tensor(shape[1:]).prod())
    k = min(out, rest)
    u, _ = torch.linalg.qr(torch.randn(out, k))
    v, _ = torch.linalg.qr(torch.randn(rest, k))
    s = torch.cat([torch.tensor([top]), torch.linspace(1.0, 0.5, k - 1)])
    return (u * s) @ v.T


def test_apply_spectral_norm_makes_the_top_singular_value_one():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Sequential(nn.Flatten(), nn.Linear(8 * 4 * 4, 6)),
                        nn.ConvTranspose2d(2, 2, 3))
    conv, lin = net[0], net[2][1]
    with torch.no_grad():
        conv.weight.copy_(with_spectrum(conv.weight.shape, 7.0).view_as(conv.weight))
        lin.weight.copy_(with_spectrum(lin.weight.shape, 4.0))
    before = {"conv": conv.weight.detach().clone(), "lin": lin.weight.detach().clone()}
    assert apply_spectral_norm(net) is net
    assert parametrized(conv, "weight") and parametrized(lin, "weight")
    assert not parametrized(net[1]) and not parametrized(net[3])  # only Conv2d and Linear
    net.train()
    for _ in range(3):  # one power iteration per training forward
        net[:3](torch.randn(2, 3, 6, 6))
    with torch.no_grad():
        for name, m in (("conv", conv), ("lin", lin)):
            w = m.weight.reshape(m.weight.shape[0], -1)
            assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, rel=1e-3), name
            w0 = before[name].reshape(w.shape)
            assert torch.allclose(w, w0 / torch.linalg.matrix_norm(w0, ord=2), atol=1e-4)  # same direction


def test_init_dcgan_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(64, 64, 5), nn.ConvTranspose2d(64, 64, 5, bias=False), nn.BatchNorm2d(512),
                        nn.GroupNorm(1, 512), nn.InstanceNorm2d(8), nn.Linear(4, 4))
    lin_before = net[5].weight.detach().clone()
    init_dcgan(net)
    for conv in net[:2]:
        assert abs(conv.weight.std().item() - 0.02) < 1e-3 and abs(conv.weight.mean().item()) < 1e-3
    assert net[0].bias.abs().max() == 0
    for norm in net[2:4]:
        assert abs(norm.weight.mean().item() - 1) < 0.005 and abs(norm.weight.std().item() - 0.02) < 0.005
        assert norm.bias.abs().max() == 0
    assert torch.equal(net[5].weight, lin_before)  # Linear layers keep their own init


def test_image_outputs():
    x = torch.linspace(-6, 6, 101)
    margin = image_output(x, "tanh_margin")
    assert torch.allclose(margin, TANH_MARGIN * x.tanh())
    assert margin.min() < -1.05 and margin.max() > 1.05  # an overshoot D sees and can push back
    edge = torch.tensor(math.atanh(1 / TANH_MARGIN))
    assert torch.allclose(image_output(edge, "tanh_margin"), torch.tensor(1.0))  # ±1 at a finite pre-activation
    assert torch.equal(image_output(x, "tanh"), x.tanh())
    assert torch.equal(image_output(x, "linear"), x)


@pytest.mark.parametrize("output", ["tanh", "tanh_margin"])
def test_a_pixel_pulled_onto_the_bound_stays_alive_only_with_the_margin(output):
    """Adam pulling one pixel onto MNIST's background (-1): through tanh the target is an asymptote, so
    the pre-activation walks off until tanh passes (almost) no gradient, and a stroke could never be
    drawn there again; with the margin it settles where 1.1·tanh(x) = -1, with a live gradient."""
    x = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.05, betas=(0.0, 0.99))
    for _ in range(2000):
        opt.zero_grad()
        (image_output(x, output) + 1).pow(2).sum().backward()
        opt.step()
    slope = 1 - x.detach().tanh().item() ** 2  # d tanh / dx where the pixel ended
    if output == "tanh_margin":
        assert abs(x.item() + math.atanh(1 / TANH_MARGIN)) < 0.05 and slope > 0.15
    else:
        assert x.item() < -4 and slope < 1e-3
