"""Every registered built-in model: the G(z, y=None) / D(x, y=None) contract, zoo shapes, docstrings."""
import pytest
import torch

from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.models.base import Verdict, as_verdict, is_conditional

SHAPE, CLASSES = (1, 28, 28), 10  # a size every built-in family serves
CTX = {"img_shape": SHAPE, "num_classes": CLASSES}
# Small widths keep the suite fast; a family not listed here is built with its defaults.
G_ARGS = {"dcgan": {"ngf": 8}, "resnet": {"ch": 16}, "mlp": {"hidden": [32]}, "conditional_bn": {"ngf": 8},
          "conditional": {"body": "mlp", "body_args": {"hidden": [32]}},
          "stylegan2": {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}}
D_ARGS = {"dcgan": {"ndf": 8}, "resnet": {"ch": 16}, "mlp": {"hidden": [32]},
          "projection": {"body_args": {"ch": 16}}, "acgan": {"body_args": {"ndf": 8}},
          "stylegan2": {"channel_base": 128, "channel_max": 16, "mapping_layers": 2}}


def built_in(reg):
    return [e.name for e in reg if e.origin == "built-in"]


def test_the_built_in_zoo_is_all_there():
    assert {"dcgan_mnist", "dcgan", "resnet", "mlp", "conditional", "conditional_bn"} <= set(built_in(GENERATORS))
    assert {"dcgan_mnist", "dcgan", "resnet", "mlp", "projection", "acgan"} <= set(built_in(DISCRIMINATORS))


# Generators whose last layer is linear, as published (R3GAN, StyleGAN2): images are not confined to
# [-1, 1] (grids and metrics clamp them); every other built-in ends in tanh.
LINEAR_OUTPUT = {"r3gan", "stylegan2"}


@pytest.mark.parametrize("name", built_in(GENERATORS))
def test_every_built_in_generator_follows_the_contract(name):
    torch.manual_seed(0)
    G = GENERATORS.build({"name": name, **G_ARGS.get(name, {})}, "generator", CTX).eval()
    z = torch.randn(4, G.z_dim)
    labels = torch.tensor([0, 3, 3, 9])
    with torch.no_grad():
        if is_conditional(G):
            assert G.num_classes == CLASSES
            x = G(z, y=labels)
        else:
            x = G(z, y=None)
            assert torch.equal(G(z), x) and torch.equal(G(z, labels), x)  # labels are ignored
    assert x.shape == (4, *SHAPE) and x.dtype == torch.float32
    assert torch.isfinite(x).all()
    if name not in LINEAR_OUTPUT:
        assert x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("name", built_in(DISCRIMINATORS))
def test_every_built_in_discriminator_follows_the_contract(name):
    torch.manual_seed(0)
    D = DISCRIMINATORS.build({"name": name, **D_ARGS.get(name, {})}, "discriminator", CTX).eval()
    x = torch.rand(4, *SHAPE) * 2 - 1
    labels = torch.tensor([0, 3, 3, 9])
    with torch.no_grad():
        if is_conditional(D):
            assert D.num_classes == CLASSES
            out = D(x, y=labels)
            assert not torch.allclose(as_verdict(out).logits, as_verdict(D(x, y=labels.flip(0))).logits)
        else:
            out = D(x, y=None)
            assert torch.equal(as_verdict(D(x, labels)).logits, as_verdict(out).logits)  # labels are ignored
    v = as_verdict(out)
    assert v.logits.shape == (4,) and v.logits.dtype == torch.float32
    if isinstance(out, Verdict) and out.classes is not None:  # a class head: ACGAN
        assert out.classes.shape == (4, CLASSES) and hasattr(D, "aux_weight")


def test_acgan_discriminator_returns_a_verdict_with_class_logits():
    D = DISCRIMINATORS.build({"name": "acgan", **D_ARGS["acgan"]}, "discriminator", CTX)
    out = D(torch.randn(3, *SHAPE), y=None)
    assert isinstance(out, Verdict) and out.logits.shape == (3,) and out.classes.shape == (3, CLASSES)


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


@pytest.mark.parametrize("name, shape", [("dcgan_mnist", (1, 28, 28)), ("dcgan", (3, 32, 32)),
                                         ("resnet", (3, 32, 32)), ("mlp", (1, 12, 12))])
def test_unconditional_discriminators_are_head_of_features(name, shape):
    torch.manual_seed(0)
    args = {"dcgan": {"ndf": 8}, "resnet": {"ch": 8}, "mlp": {"hidden": [16]}}.get(name, {})
    D = DISCRIMINATORS.build({"name": name, **args}, "discriminator", {"img_shape": shape}).eval()
    x = torch.randn(4, *shape)
    h = D.features(x)
    assert h.shape == (4, D.head.in_features)
    assert torch.allclose(D(x), D.head(h).squeeze(1))


def test_every_zoo_component_has_a_docstring_line():
    for reg in (GENERATORS, DISCRIMINATORS):
        for e in reg:
            assert e.doc, e.name
