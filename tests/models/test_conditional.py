"""Conditional models: shapes, label dependence, the projection formula, ACGAN heads."""
import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.registry import DISCRIMINATORS, GENERATORS

CTX28 = {"img_shape": (1, 28, 28), "num_classes": 10}


def g(node, ctx=CTX28):
    return GENERATORS.build(node, "generator", ctx).eval()


def d(node, ctx=CTX28):
    return DISCRIMINATORS.build(node, "discriminator", ctx)


@pytest.mark.parametrize("node, shape", [
    ({"name": "conditional"}, (1, 28, 28)),
    ({"name": "conditional", "body": "dcgan", "body_args": {"ngf": 8}}, (3, 32, 32)),
    ({"name": "conditional", "body": "mlp", "body_args": {"hidden": [16]}}, (3, 12, 12)),
    ({"name": "conditional_bn", "ngf": 8}, (1, 28, 28)),
    ({"name": "conditional_bn", "ngf": 8}, (3, 32, 32)),
])
def test_conditional_generators_shape_and_label_dependence(node, shape):
    torch.manual_seed(0)
    G = g(node, {"img_shape": shape, "num_classes": 4})
    assert G.conditional and G.num_classes == 4
    z = torch.randn(1, G.z_dim).expand(4, -1)  # one z, four labels
    with torch.no_grad():
        x = G(z, torch.arange(4))
        assert x.shape == (4, *shape)
        scale = x.abs().max()  # freshly initialised DCGAN layouts give small outputs in eval mode
        assert all((x[i] - x[j]).abs().max() > 1e-2 * scale for i in range(4) for j in range(i))  # y changes x
        assert torch.equal(G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.zeros(4, dtype=torch.long)))


def test_concat_generator_feeds_embedding_to_the_body():
    G = g({"name": "conditional", "z_dim": 20, "embed_dim": 6})
    assert G.z_dim == 20 and G.body.z_dim == 26
    z, y = torch.randn(3, 20), torch.tensor([1, 5, 9])
    with torch.no_grad():
        assert torch.equal(G(z, y), G.body(torch.cat([z, G.embed(y)], 1)))


def test_conditional_bn_uses_class_scale_and_shift():
    from gankit.models.layers import ConditionalBatchNorm2d

    cbn = ConditionalBatchNorm2d(2, 3)
    with torch.no_grad():
        cbn.gamma.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.5, 0.0]]))
        cbn.beta.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, -1.0], [0.0, 4.0]]))
    x = torch.randn(6, 2, 3, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    normed = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    expected = normed * cbn.gamma.weight[y][:, :, None, None] + cbn.beta.weight[y][:, :, None, None]
    assert torch.allclose(cbn(x, y), expected, atol=1e-5)


def test_projection_discriminator_matches_formula():
    torch.manual_seed(0)
    D = d({"name": "projection", "ch": 8, "spectral_norm": False})
    assert D.conditional and D.num_classes == 10
    x, y = torch.randn(5, 1, 28, 28), torch.tensor([0, 3, 3, 7, 9])
    out = D(x, y)
    h = D.trunk(x)
    assert out.shape == (5,)
    assert torch.allclose(out, D.head(h).squeeze(1) + (D.embed.weight[y] * h).sum(1), atol=1e-5)
    # the label changes the logit by exactly ⟨e_y' − e_y, φ(x)⟩
    y2 = torch.tensor([1, 1, 1, 1, 1])
    assert torch.allclose(D(x, y2) - out, ((D.embed.weight[y2] - D.embed.weight[y]) * h).sum(1), atol=1e-5)


def test_projection_discriminator_spectral_norm_and_shapes_at_32_rgb():
    D = d({"name": "projection", "ch": 8}, {"img_shape": (3, 32, 32), "num_classes": 10})
    assert nn.utils.parametrize.is_parametrized(D.embed, "weight")
    assert nn.utils.parametrize.is_parametrized(D.head, "weight")
    x = torch.randn(2, 3, 32, 32)
    assert D(x, torch.tensor([0, 1])).shape == (2,)
    assert not torch.allclose(D(x, torch.tensor([0, 0])), D(x, torch.tensor([5, 5])))


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_acgan_discriminator_heads(shape):
    D = d({"name": "acgan", "ndf": 8, "aux_weight": 0.5}, {"img_shape": shape, "num_classes": 7})
    assert not getattr(D, "conditional", False) and D.aux_weight == 0.5
    logits, cls = D(torch.randn(3, *shape))
    assert logits.shape == (3,) and cls.shape == (3, 7)


def test_conditional_models_need_labels():
    with pytest.raises(GankitError, match="^generator: .*labelled"):
        g({"name": "conditional"}, {"img_shape": (1, 28, 28), "num_classes": 0})
    with pytest.raises(GankitError, match="^discriminator: .*labelled"):
        d({"name": "projection"}, {"img_shape": (1, 28, 28), "num_classes": 0})


def test_conditional_body_errors_name_the_body_key():
    with pytest.raises(GankitError, match="generator.body"):
        g({"name": "conditional", "body": "conditional_bn"})
    with pytest.raises(GankitError, match="generator.body.ngff"):
        g({"name": "conditional", "body": "dcgan", "body_args": {"ngff": 3}})
    with pytest.raises(GankitError, match="^generator: .*conditional_bn"):
        g({"name": "conditional_bn"}, {"img_shape": (1, 30, 30), "num_classes": 10})
