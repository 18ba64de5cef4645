"""gankit.models.dcgan: the Radford et al. layout, norm choices, spectral norm, size errors."""
import pytest
import torch
from torch import nn

from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.errors import GankitError
from gankit.models.dcgan import dcgan_trunk


def pair(shape, g_args=None, d_args=None):
    ctx = {"img_shape": shape}
    return (GENERATORS.build({"name": "dcgan", **(g_args or {"ngf": 8})}, "generator", ctx),
            DISCRIMINATORS.build({"name": "dcgan", **(d_args or {"ndf": 8})}, "discriminator", ctx))


def test_dcgan_follows_radford_layout_at_64():
    G, D = pair((3, 64, 64))
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(100, 64), (64, 32), (32, 16), (16, 8), (8, 3)]
    assert [m.stride for m in convs] == [(1, 1)] + [(2, 2)] * 4
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 4
    assert isinstance(list(G.modules())[-1], nn.Tanh)
    d_convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.stride) for m in d_convs] == [(8, (2, 2)), (16, (2, 2)), (32, (2, 2)), (64, (2, 2))]
    assert D.head.in_features == 64 * 4 * 4 and D.head.out_features == 1  # the 4×4 conv to one logit, as a Linear
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 3  # none after the first conv


def test_dcgan_default_widths_at_32():
    G = GENERATORS.build({"name": "dcgan"}, "generator", {"img_shape": (1, 32, 32)})
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [m.out_channels for m in convs] == [256, 128, 64, 1]


def test_28_pixels_start_from_a_7x7_map():
    G, D = pair((1, 28, 28))
    first = next(m for m in G.modules() if isinstance(m, nn.ConvTranspose2d))
    assert first.kernel_size == (7, 7) and first.out_channels == 16  # ngf · 2^(n_up − 1), n_up = 2
    assert D.head.in_features == 16 * 7 * 7
    x = G(torch.randn(2, G.z_dim))
    assert x.shape == (2, 1, 28, 28) and D(x).shape == (2,)


def test_dcgan_init_is_normal_0_02_with_a_zero_head_bias():
    torch.manual_seed(0)
    G, D = pair((3, 64, 64), {"ngf": 32}, {"ndf": 32})
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(w.std().item() - 0.02) < 1e-3
    assert abs(D.head.weight.std().item() - 0.02) < 2e-3 and D.head.bias.abs().max() == 0


@pytest.mark.parametrize("norm, kind", [("none", None), ("layer", nn.GroupNorm), ("instance", nn.InstanceNorm2d)])
def test_dcgan_discriminator_norm_choice(norm, kind):
    D = DISCRIMINATORS.build({"name": "dcgan", "ndf": 8, "norm": norm}, "discriminator", {"img_shape": (1, 32, 32)})
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    if kind:
        assert sum(isinstance(m, kind) for m in D.modules()) == 2
    # without batch statistics each sample's logit depends on that sample only
    x = torch.randn(4, 1, 32, 32)
    assert torch.allclose(D(x)[:2], D(x[:2]), atol=1e-5)


def test_unknown_norm_names_the_key():
    with pytest.raises(GankitError, match="discriminator.norm"):
        DISCRIMINATORS.build({"name": "dcgan", "norm": "batchy"}, "discriminator", {"img_shape": (1, 32, 32)})


def test_spectral_norm_wraps_every_conv_and_the_head():
    _, D = pair((3, 32, 32), d_args={"ndf": 8, "spectral_norm": True, "norm": "none"})
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 4 and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    _, plain = pair((3, 32, 32))
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in plain.modules())


def test_dcgan_trunk_halves_the_side_per_conv_and_reports_its_channels():
    body, ch = dcgan_trunk(3, 3, 8, "batch", "discriminator")
    assert ch == 32 and body(torch.randn(2, 3, 32, 32)).shape == (2, 32, 4, 4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in body[:2])  # the first conv has no norm
    biased = [m.bias is not None for m in body if isinstance(m, nn.Conv2d)]
    assert biased == [True, False, False]  # a norm right after a conv makes its bias redundant
    _, ch = dcgan_trunk(1, 2, 4, "none", "discriminator")
    assert ch == 8


@pytest.mark.parametrize("side", [30, 100, 8])
@pytest.mark.parametrize("role", ["generator", "discriminator"])
def test_unsupported_size_names_the_role(side, role):
    reg = GENERATORS if role == "generator" else DISCRIMINATORS
    with pytest.raises(GankitError, match=rf"^{role}: .*dcgan.*data.image_size"):
        reg.build({"name": "dcgan"}, role, {"img_shape": (3, side, side)})
