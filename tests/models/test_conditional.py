"""Conditional models: shapes, label dependence, the projection formula, ACGAN heads."""
import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.config.registry import DISCRIMINATORS, GENERATORS

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


def test_concat_generator_feeds_one_hot_labels_to_the_body_by_default():
    G = g({"name": "conditional", "z_dim": 20})
    assert G.z_dim == 20 and G.body.z_dim == 30
    assert not any(p is G.embed.weight for p in G.parameters() if p.requires_grad)  # a fixed code
    z, y = torch.randn(3, 20), torch.tensor([1, 5, 9])
    with torch.no_grad():
        assert torch.equal(G(z, y), G.body(torch.cat([z, nn.functional.one_hot(y, 10).float()], 1)))


def test_concat_generator_learned_embedding_rows_have_norm_about_one():
    torch.manual_seed(0)
    G = g({"name": "conditional", "z_dim": 20, "embed_dim": 64, "body": "mlp"})
    assert G.body.z_dim == 84 and G.embed.weight.requires_grad
    norms = G.embed.weight.norm(dim=1)
    assert norms.shape == (10,) and (norms - 1).abs().max() < 0.35  # N(0, 1/d) rows: E‖e‖² = 1
    z, y = torch.randn(3, 20), torch.tensor([1, 5, 9])
    with torch.no_grad():
        assert torch.equal(G(z, y), G.body(torch.cat([z, G.embed(y)], 1)))


@pytest.mark.parametrize("name, shape", [("dcgan_mnist", (1, 28, 28)), ("dcgan", (3, 32, 32)),
                                         ("resnet", (3, 32, 32)), ("mlp", (1, 12, 12))])
def test_unconditional_discriminators_are_head_of_features(name, shape):
    torch.manual_seed(0)
    args = {"dcgan": {"ndf": 8}, "resnet": {"ch": 8}, "mlp": {"hidden": [16]}}.get(name, {})
    D = d({"name": name, **args}, {"img_shape": shape}).eval()
    x = torch.randn(4, *shape)
    h = D.features(x)
    assert h.shape == (4, D.head.in_features)
    assert torch.allclose(D(x), D.head(h).squeeze(1))


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
    D = d({"name": "projection", "body": "dcgan_mnist", "spectral_norm": False})
    assert D.conditional and D.num_classes == 10 and D.embed.weight.shape == (10, 1024)
    x, y = torch.randn(5, 1, 28, 28), torch.tensor([0, 3, 3, 7, 9])
    out = D(x, y)
    h = D.body.features(x)
    assert out.shape == (5,)
    assert torch.allclose(out, D.body(x) + (D.embed.weight[y] * h).sum(1), atol=1e-5)
    # the label changes the logit by exactly ⟨e_y' − e_y, φ(x)⟩
    y2 = torch.tensor([1, 1, 1, 1, 1])
    assert torch.allclose(D(x, y2) - out, ((D.embed.weight[y2] - D.embed.weight[y]) * h).sum(1), atol=1e-5)


def test_projection_discriminator_spectral_norm_and_shapes_at_32_rgb():
    D = d({"name": "projection", "body_args": {"ch": 8}}, {"img_shape": (3, 32, 32), "num_classes": 10})
    assert nn.utils.parametrize.is_parametrized(D.embed, "weight")
    assert nn.utils.parametrize.is_parametrized(D.body.head, "weight")  # the resnet body's own setting
    x = torch.randn(2, 3, 32, 32)
    assert D(x, torch.tensor([0, 1])).shape == (2,)
    assert not torch.allclose(D(x, torch.tensor([0, 0])), D(x, torch.tensor([5, 5])))


@pytest.mark.parametrize("body, shape", [("dcgan_mnist", (1, 28, 28)), ("dcgan", (3, 32, 32)),
                                         ("dcgan", (3, 64, 64)), ("resnet", (3, 32, 32))])
def test_acgan_discriminator_heads(body, shape):
    args = {"dcgan": {"ndf": 8}, "resnet": {"ch": 8}}.get(body, {})
    D = d({"name": "acgan", "body": body, "body_args": args, "aux_weight": 0.5}, {"img_shape": shape, "num_classes": 7})
    assert not getattr(D, "conditional", False) and D.aux_weight == 0.5
    D.eval()
    x = torch.randn(3, *shape)
    logits, cls = D(x)
    assert logits.shape == (3,) and cls.shape == (3, 7)
    assert torch.allclose(logits, D.body(x))  # the real/fake logit is the body's own
    assert torch.allclose(cls, D.cls(D.body.features(x)))


def test_conditional_models_need_labels():
    with pytest.raises(GankitError, match="^generator: .*labelled"):
        g({"name": "conditional"}, {"img_shape": (1, 28, 28), "num_classes": 0})
    with pytest.raises(GankitError, match="^discriminator: .*labelled"):
        d({"name": "projection"}, {"img_shape": (1, 28, 28), "num_classes": 0})


def test_conditional_body_errors_name_the_body_key():
    with pytest.raises(GankitError, match="^discriminator.body: projection needs .* 'acgan'"):
        d({"name": "projection", "body": "acgan"})
    with pytest.raises(GankitError, match="^discriminator.body: acgan needs .* 'projection'"):
        d({"name": "acgan", "body": "projection"})
    with pytest.raises(GankitError, match="discriminator.body.chh"):
        d({"name": "projection", "body_args": {"chh": 3}})
    with pytest.raises(GankitError, match="generator.body"):
        g({"name": "conditional", "body": "conditional_bn"})
    with pytest.raises(GankitError, match="generator.body.ngff"):
        g({"name": "conditional", "body": "dcgan", "body_args": {"ngff": 3}})
    with pytest.raises(GankitError, match="^generator: .*conditional_bn"):
        g({"name": "conditional_bn"}, {"img_shape": (1, 30, 30), "num_classes": 10})
