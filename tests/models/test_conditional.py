"""Conditional models: shapes, label dependence, the projection formula, ACGAN heads."""
import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.models.base import Verdict

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


def test_acgan_returns_a_verdict_and_ignores_labels():
    torch.manual_seed(0)
    D = d({"name": "acgan", "body": "dcgan_mnist", "dropout": 0.5}).eval()
    x = torch.randn(4, 1, 28, 28)
    out = D(x, y=torch.tensor([0, 1, 2, 3]))
    assert isinstance(out, Verdict) and out.classes.shape == (4, 10)
    assert torch.equal(out.logits, D(x).logits) and torch.equal(out.classes, D(x).classes)
    assert isinstance(D.drop, nn.Dropout) and D.drop.p == 0.5


def test_conditional_bn_generator_has_one_class_norm_per_upsampling_layer():
    from gankit.models.layers import ConditionalBatchNorm2d

    G = g({"name": "conditional_bn", "ngf": 8}, {"img_shape": (3, 32, 32), "num_classes": 5})
    assert len(G.convs) == len(G.norms) == 3  # 4 → 8 → 16, then the output conv to 32
    assert all(isinstance(n, ConditionalBatchNorm2d) and n.gamma.num_embeddings == 5 for n in G.norms)
    assert [n.bn.num_features for n in G.norms] == [32, 16, 8]
    assert not any(isinstance(m, nn.BatchNorm2d) and m.affine for m in G.modules())  # scales are per class only
