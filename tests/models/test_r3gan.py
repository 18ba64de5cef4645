"""gankit.models.r3gan: R3GAN's normalisation-free ResNeXt G and D, its [1,2,1] resamplers and its init."""
import math

import pytest
import torch
from torch import nn

from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.errors import GankitError
from gankit.models.base import is_conditional, uses_labels
from gankit.models.r3gan_blocks import (LRELU_GAIN, Downsample2x, ResidualBlock, Upsample2x, lowpass_kernel)

SMALL = {"widths": 16, "cardinality": 4, "blocks": 1}  # group size 8 at expansion 2


def build(shape, num_classes=None, g_args=SMALL, d_args=SMALL, **both):
    ctx = {"img_shape": shape, "num_classes": num_classes}
    return (GENERATORS.build({"name": "r3gan", **g_args, **both}, "generator", ctx),
            DISCRIMINATORS.build({"name": "r3gan", **d_args, **both}, "discriminator", ctx))


@pytest.mark.parametrize("side, start, stages", [(28, 7, 3), (32, 4, 4), (64, 4, 5)])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_shapes_at_each_size_channel_count_and_labelling(side, start, stages, channels, num_classes):
    torch.manual_seed(0)
    G, D = build((channels, side, side), num_classes)
    assert G.z_dim == 64 and G.start == start and len(G.stages) == len(D.trunk.stages) == stages
    assert G.conditional == D.conditional == bool(num_classes)
    y = torch.tensor([0, 3, 9]) if num_classes else None
    x = G(torch.randn(3, G.z_dim), y)
    assert x.shape == (3, channels, side, side) and x.dtype == torch.float32
    logits = D(x, y)
    assert logits.shape == (3,)
    assert D.trunk.stages[-1][-1].weight.shape[1:] == (start, start)  # the basis reads the whole last map


def test_r3gan_cifar10_layout_builds():
    """train.py's CIFAR10 preset (widths 768, 2 blocks, cardinality 96, expansion 2) at reduced width 48/6."""
    G, D = build((3, 32, 32), 10, g_args={"widths": 48, "blocks": 2, "cardinality": 6},
                 d_args={"widths": 48, "blocks": 2, "cardinality": 6})
    blocks = [m for m in G.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 8 and blocks[0].grouped.groups == 6 and blocks[0].grouped.out_channels == 96
    assert G.embed_dim == 64 and D.embed_dim == 48  # R3GAN: z_dim for G, the coarsest width for D


def residual_blocks(*models):
    return [m for model in models for m in model.modules() if isinstance(m, ResidualBlock)]


def test_every_residual_block_is_the_identity_at_init_yet_trains():
    torch.manual_seed(0)
    G, D = build((1, 28, 28), 10, g_args={**SMALL, "blocks": [1, 2, 1]}, d_args={**SMALL, "blocks": 2})
    blocks = residual_blocks(G, D)
    assert len(blocks) == 10
    for b in blocks:
        assert b.project.weight.abs().max() == 0  # the zero-initialised last 1×1
        x = torch.randn(2, b.expand.in_channels, 5, 5)
        assert torch.equal(b(x), x)
    y = torch.tensor([1, 2, 3, 4])
    opt = torch.optim.SGD([*G.parameters(), *D.parameters()], lr=0.1)
    for step in range(2):
        opt.zero_grad()
        D(G(torch.randn(4, G.z_dim), y), y).square().sum().backward()
        for b in blocks:
            grads = {n: p.grad for n, p in b.named_parameters()}
            assert all(g is not None for g in grads.values())
            assert grads["project.weight"].abs().max() > 0  # the only way in while the block is the identity
            if step == 1:  # once the last layer has moved, every parameter of every block gets a gradient
                assert all(g.abs().max() > 0 for g in grads.values()), [n for n, g in grads.items() if not g.any()]
        opt.step()
    assert all(b.project.weight.abs().max() > 0 for b in blocks)


def test_variance_scaled_msr_init():
    torch.manual_seed(0)
    G, _ = build((3, 32, 32), g_args={"widths": 64, "blocks": 2, "cardinality": 8})
    L = 8  # blocks in the whole network: R3GAN's variance scaling parameter
    gain = LRELU_GAIN * L ** -0.25
    b = residual_blocks(G)[0]
    assert b.expand.weight.std().item() == pytest.approx(gain / math.sqrt(64), rel=0.05)
    assert b.grouped.weight.std().item() == pytest.approx(gain / math.sqrt(16 * 9), rel=0.05)  # fan-in of a group
    assert b.expand.bias.abs().max() == 0 and b.grouped.bias.abs().max() == 0 and b.project.bias is None
    assert G.basis.basis.std().item() == pytest.approx(1.0, rel=0.05)  # the 4×4 constant, N(0, 1)
    assert G.basis.linear.weight.std().item() == pytest.approx(1 / math.sqrt(64), rel=0.05)
    assert G.to_image.bias is None and G.basis.linear.bias is None


def test_no_normalisation_anywhere_and_samples_do_not_interact():
    torch.manual_seed(0)
    G, D = build((3, 32, 32), 10)
    norms = (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm, nn.LocalResponseNorm)
    for m in (*G.modules(), *D.modules()):
        assert not isinstance(m, norms), type(m)
        assert not nn.utils.parametrize.is_parametrized(m)  # no spectral norm either
    z, y = torch.randn(5, G.z_dim), torch.tensor([0, 1, 2, 3, 4])
    G.train(), D.train()
    x = G(z, y)
    assert torch.allclose(G(z[:1], y[:1]), x[:1], atol=1e-5)  # no batch statistics: one sample alone is the same
    assert torch.allclose(D(x[2:3], y[2:3]), D(x, y)[2:3], atol=1e-5)


def test_lowpass_kernel_is_bilinear():
    k = lowpass_kernel((1, 2, 1))
    assert torch.allclose(k, torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64)
    assert lowpass_kernel([1]).tolist() == [[0.25, 0.25], [0.25, 0.25]]  # [1] → 2×2 box filter
    with pytest.raises(ValueError):
        lowpass_kernel([1, 2])


def test_upsample_matches_a_hand_computation():
    # 1-D, the output pixel centres sit at −¼, ¼, ¾, 1¼ of the input's: [¾a, ¾a + ¼b, ¼a + ¾b, ¾b] (zero past the edge).
    A = torch.tensor([[0.75, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 0.75]])
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    two = torch.stack([x, -2 * x])[None]  # (1, 2, 2, 2): channels are filtered independently
    out = Upsample2x()(two)
    assert out.shape == (1, 2, 4, 4)
    assert torch.allclose(out[0, 0], A @ x @ A.T) and torch.allclose(out[0, 1], -2 * A @ x @ A.T)


def test_downsample_matches_a_hand_computation():
    # 1-D, out[j] = (x[2j−1] + 3x[2j] + 3x[2j+1] + x[2j+2]) / 8, zero past the edge.
    Dm = torch.tensor([[3.0, 3, 1, 0], [0, 1, 3, 3]]) / 8
    x = torch.arange(16.0).view(4, 4)
    out = Downsample2x()(x[None, None].expand(2, 3, 4, 4))
    assert out.shape == (2, 3, 2, 2)
    assert torch.allclose(out, (Dm @ x @ Dm.T).expand(2, 3, 2, 2))


def test_constant_images_stay_constant_inside_and_borders_read_zeros():
    c = torch.full((1, 2, 8, 8), 3.0)
    up = Upsample2x()(c)
    assert up.shape == (1, 2, 16, 16)
    assert torch.allclose(up[..., 1:-1, 1:-1], c.new_full((1, 2, 14, 14), 3.0))
    assert torch.allclose(up[..., 0, 1:-1], torch.tensor(3 * 0.75)) and torch.allclose(up[..., 0, 0], torch.tensor(3 * 0.75 ** 2))
    down = Downsample2x()(c)
    assert torch.allclose(down[..., 1:-1, 1:-1], torch.tensor(3.0))
    assert torch.allclose(down[..., -1, 1:-1], torch.tensor(3 * 7 / 8))
    round_trip = Downsample2x()(up)
    assert round_trip.shape == c.shape and torch.allclose(round_trip[..., 1:-1, 1:-1], torch.tensor(3.0))


@pytest.mark.parametrize("taps", [(1, 2, 1), (1, 4, 6, 4, 1)])
def test_resamplers_are_r3gans_depthwise_convolutions_and_twice_differentiable(taps):
    torch.manual_seed(0)
    k = lowpass_kernel(taps).double()
    r = len(taps) // 2
    for shape in [(2, 3, 6, 6), (1, 2, 7, 5)]:
        x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        w = k.expand(shape[1], 1, *k.shape)
        up, down = Upsample2x(taps).double(), Downsample2x(taps).double()
        assert torch.allclose(up(x), nn.functional.conv_transpose2d(x, 4 * w, stride=2, padding=r, groups=shape[1]))
        assert torch.allclose(down(x), nn.functional.conv2d(x, w, stride=2, padding=r, groups=shape[1]))
        if shape[-1] % 2:  # odd sides: the adjoint of the downsampler needs output padding
            for f in (up, down):  # the custom backward (each one's adjoint) is right to second order: R1/R2
                assert torch.autograd.gradcheck(f, (x,)) and torch.autograd.gradgradcheck(f, (x,))


def test_labels_change_a_conditional_g_and_d():
    torch.manual_seed(0)
    G, D = build((1, 28, 28), 10)
    assert is_conditional(G) and is_conditional(D) and G.num_classes == D.num_classes == 10
    z = torch.randn(1, G.z_dim).expand(4, -1)
    with torch.no_grad():
        x = G(z, torch.arange(4))
        assert all((x[i] - x[j]).abs().max() > 1e-3 for i in range(4) for j in range(i))
        same = x[:1].expand(4, -1, -1, -1)
        logits = D(same, torch.arange(4))
        assert len(set(logits.tolist())) == 4
        # projection with no unconditional term: D(x, y) = ⟨head(φ(x)), embed(y)⟩
        assert torch.allclose(logits, (D.head(D.features(same)) * D.embed.weight[:4]).sum(1), atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        G(z)


def test_unconditional_when_the_data_has_no_labels_or_when_asked():
    for ctx_classes, flag in [(None, None), (0, None), (10, False)]:
        G, D = build((1, 28, 28), ctx_classes, conditional=flag)
        assert not uses_labels(G, D) and G.embed is None and D.embed is None
        z, x = torch.randn(2, G.z_dim), torch.randn(2, 1, 28, 28)
        assert torch.equal(G(z), G(z, torch.tensor([1, 2]))) and torch.equal(D(x), D(x, torch.tensor([1, 2])))
        assert D.head.out_features == 1
    with pytest.raises(GankitError, match="^generator: 'r3gan' is conditional.*labelled"):
        build((1, 28, 28), 0, conditional=True)


def test_gradient_penalties_can_backpropagate_through_d():
    torch.manual_seed(0)
    G, D = build((1, 28, 28), 10)
    x, y = torch.randn(3, 1, 28, 28, requires_grad=True), torch.tensor([0, 1, 2])
    grad, = torch.autograd.grad(D(x, y).sum(), x, create_graph=True)  # R1 / R2
    grad.square().sum().backward()
    assert all(p.grad is not None for p in D.parameters())


def test_r3gan_d_serves_as_a_projection_body():
    D = DISCRIMINATORS.build({"name": "projection", "body": "r3gan", "body_args": SMALL, "spectral_norm": False},
                             "discriminator", {"img_shape": (1, 28, 28), "num_classes": 10})
    assert not D.body.conditional and D.body.head.out_features == 1
    assert D(torch.randn(2, 1, 28, 28), torch.tensor([0, 1])).shape == (2,)


def test_argument_errors_name_the_key():
    with pytest.raises(GankitError, match=r"^generator.widths: r3gan builds 3 stages for 28×28"):
        build((1, 28, 28), g_args={"widths": [32, 16]})
    with pytest.raises(GankitError, match=r"^discriminator.cardinality: .*cardinality 5"):
        build((1, 28, 28), d_args={"widths": 16, "cardinality": 5})
    with pytest.raises(GankitError, match=r"^generator: r3gan cannot build .*data.image_size"):
        build((1, 30, 30))
    with pytest.raises(GankitError, match="has no argument 'width'"):
        build((1, 28, 28), g_args={"width": 16})


def test_tanh_output_squashes_the_linear_image():
    torch.manual_seed(0)
    linear, _ = build((1, 28, 28))
    squashed, _ = build((1, 28, 28), g_args={**SMALL, "output": "tanh"})
    squashed.load_state_dict(linear.state_dict())
    for g in (linear, squashed):
        g.to_image.weight.data.mul_(20)  # an image well beyond [-1, 1]
    z = torch.randn(4, linear.z_dim)
    img = linear(z)
    assert img.abs().max() > 1.5
    assert torch.allclose(squashed(z), img.tanh(), atol=1e-6)
    with pytest.raises(GankitError, match=r"^generator.output: 'linear' .*got 'sigmoid'"):
        build((1, 28, 28), g_args={**SMALL, "output": "sigmoid"})
