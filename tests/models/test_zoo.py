"""Unconditional model zoo: output shapes for 1 and 3 channels, layouts, size errors."""
import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.config.registry import DISCRIMINATORS, GENERATORS

SMALL = {"mlp": ({"hidden": [32, 32]}, {"hidden": [32, 16]}),
         "dcgan": ({"ngf": 8}, {"ndf": 8}),
         "resnet": ({"ch": 16}, {"ch": 16})}
SIZES = {"mlp": (28, 32, 64), "dcgan": (28, 32, 64), "resnet": (32,)}


def pair(name, shape):
    g_args, d_args = SMALL[name]
    ctx = {"img_shape": shape}
    return (GENERATORS.build({"name": name, **g_args}, "generator", ctx),
            DISCRIMINATORS.build({"name": name, **d_args}, "discriminator", ctx))


@pytest.mark.parametrize("name", list(SMALL))
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_each_size(name, channels):
    torch.manual_seed(0)
    for side in SIZES[name]:
        G, D = pair(name, (channels, side, side))
        z = torch.randn(3, G.z_dim)
        x = G(z)
        assert x.shape == (3, channels, side, side)
        assert x.min() >= -1 and x.max() <= 1  # tanh output
        logits = D(x)
        assert logits.shape == (3,) and logits.dtype == torch.float32
        logits.sum().backward()
        assert all(p.grad is not None for p in G.parameters())


def test_dcgan_follows_radford_layout_at_64():
    G, D = pair("dcgan", (3, 64, 64))
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


def test_resnet_discriminator_is_spectrally_normalised():
    _, D = pair("resnet", (3, 32, 32))
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    for _ in range(3):  # power iteration (one per training forward); a rank-1 head converges at once
        D(torch.randn(2, 3, 8, 8))
    assert torch.linalg.matrix_norm(D.head.weight, ord=2).item() == pytest.approx(1.0, rel=1e-3)


def test_resnet_generator_layout():
    G, _ = pair("resnet", (3, 32, 32))
    assert G.z_dim == 128 and len(G.blocks) == 3  # 4 → 8 → 16 → 32


def test_mlp_takes_any_shape():
    G, D = pair("mlp", (2, 10, 6))
    x = G(torch.randn(2, 100))
    assert x.shape == (2, 2, 10, 6) and D(x).shape == (2,)


@pytest.mark.parametrize("name, side", [("dcgan", 30), ("dcgan", 100), ("dcgan", 8), ("resnet", 20)])
@pytest.mark.parametrize("role", ["generator", "discriminator"])
def test_unsupported_size_names_the_role(name, side, role):
    if name == "resnet" and role == "discriminator":
        side = 4  # the ResNet D pools globally: only tiny images are refused
    reg = GENERATORS if role == "generator" else DISCRIMINATORS
    with pytest.raises(GankitError, match=rf"^{role}: .*{name}.*data.image_size"):
        reg.build({"name": name}, role, {"img_shape": (3, side, side)})


def test_every_zoo_component_has_a_docstring_line():
    for reg in (GENERATORS, DISCRIMINATORS):
        for e in reg:
            assert e.doc, e.name
