"""gankit.models.stylegan2: modulated convolution, demodulation, minibatch std, style mixing, truncation, shapes."""
import math

import pytest
import torch
import torch.nn.functional as F

from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.errors import GankitError
from gankit.models.stylegan2_layers import (FILTER_TAPS, Conv2dLayer, FullyConnected, MinibatchStd, fir_filter,
                                            modulated_conv2d, normalize_2nd_moment)
from gankit.models.r3gan_blocks import lowpass_kernel

TINY_G = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}
TINY_D = {"channel_base": 128, "channel_max": 16, "mapping_layers": 2}
KERNEL = lowpass_kernel(FILTER_TAPS).double()


def build(shape, num_classes=None, g_args=None, d_args=None):
    ctx = {"img_shape": shape, "num_classes": num_classes}
    return (GENERATORS.build({"name": "stylegan2", **TINY_G, **(g_args or {})}, "generator", ctx),
            DISCRIMINATORS.build({"name": "stylegan2", **TINY_D, **(d_args or {})}, "discriminator", ctx))


def per_sample_reference(x, weight, styles, up, demodulate):
    """Each sample convolved on its own with its explicitly modulated (and demodulated) weights."""
    out = []
    for n in range(x.shape[0]):
        w = weight * styles[n][None, :, None, None]
        if demodulate:
            w = w / (w.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        if up == 1:
            out.append(F.conv2d(x[n:n + 1], w, padding=w.shape[-1] // 2))
        else:  # StyleGAN2's up-convolution: transposed stride-2 convolution, then the [1,3,3,1] filter × 4
            y = F.conv_transpose2d(x[n:n + 1], w.transpose(0, 1), stride=2)
            out.append(F.conv2d(y, 4 * KERNEL.expand(w.shape[0], 1, 4, 4), padding=1, groups=w.shape[0]))
    return torch.cat(out)


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("fused", [True, False])
def test_modulated_conv_matches_an_explicit_per_sample_convolution(up, demodulate, fused):
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64)
    weight = torch.randn(6, 4, 3, 3, dtype=torch.float64)
    styles = torch.randn(3, 4, dtype=torch.float64)
    bias, noise = torch.randn(6, dtype=torch.float64), torch.randn(3, 1, 5 * up, 5 * up, dtype=torch.float64)
    want = per_sample_reference(x, weight, styles, up, demodulate)
    got = modulated_conv2d(x, weight, styles, up=up, demodulate=demodulate, fused=fused, kernel=KERNEL)
    assert got.shape == (3, 6, 5 * up, 5 * up)
    assert torch.allclose(got, want, atol=1e-10)
    # noise, bias and a gain: gain · (conv + noise + bias)
    got = modulated_conv2d(x, weight, styles, noise, up=up, demodulate=demodulate, fused=fused, kernel=KERNEL,
                           bias=bias, gain=1.5)
    assert torch.allclose(got, 1.5 * (want + noise + bias[None, :, None, None]), atol=1e-10)


def test_demodulation_gives_unit_output_variance_for_unit_variance_input():
    """StyleGAN2 Sec. 2.2: with i.i.d. unit-variance input, output o has variance Σ_ikk w''_oikk² = 1."""
    torch.manual_seed(0)
    x = torch.randn(64, 32, 12, 12)
    weight = torch.randn(16, 32, 3, 3) * 3.0
    styles = torch.exp(torch.randn(64, 32))  # widely varying styles
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # away from the zero padding
    out = modulated_conv2d(x, weight, styles, fused=False)[inner]
    per_map = out.var(dim=(2, 3))
    assert per_map.mean().item() == pytest.approx(1.0, abs=0.03)
    assert per_map.std().item() < 0.25
    raw = modulated_conv2d(x, weight, styles, demodulate=False, fused=False)[inner]
    assert raw.var().item() > 50  # without demodulation the styles and weights scale the output


def test_the_resampling_filter_is_twice_differentiable_and_its_backward_is_its_adjoint():
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64, requires_grad=True)
    for pad in (1, 2):
        f = lambda t: fir_filter(t, KERNEL, pad)  # noqa: E731
        assert f(x).shape[-1] == 7 + 2 * pad - 3
        assert torch.autograd.gradcheck(f, (x,)) and torch.autograd.gradgradcheck(f, (x,))


def test_down_convolution_filters_then_strides():
    torch.manual_seed(0)
    layer = Conv2dLayer(3, 5, 3, down=2, activation="lrelu").double()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    blurred = F.conv2d(x, KERNEL.expand(3, 1, 4, 4), padding=2, groups=3)  # 9×9
    want = F.conv2d(blurred, layer.weight / math.sqrt(27), layer.bias, stride=2)
    assert torch.allclose(layer(x), math.sqrt(2) * F.leaky_relu(want, 0.2))  # leaky ReLU × √2
    lin = Conv2dLayer(3, 5, 3, down=2, activation="linear").double()
    lin.load_state_dict(layer.state_dict())
    assert torch.allclose(lin(x), want) and lin(x).shape == (2, 5, 4, 4)
    assert torch.allclose(layer(x, gain=0.5), 0.5 * math.sqrt(2) * F.leaky_relu(want, 0.2))


def test_equalised_learning_rate_is_a_runtime_scale():
    torch.manual_seed(0)
    fc = FullyConnected(400, 300, lr_multiplier=0.01, bias_init=0.5)
    assert fc.weight.std().item() == pytest.approx(100.0, rel=0.02)  # stored N(0, 1/λ²)
    x = torch.randn(7, 400)
    want = x @ (fc.weight * 0.01 / 20).t() + 0.5 * 0.01
    assert torch.allclose(fc(x), want, atol=1e-5)
    conv = Conv2dLayer(8, 4, 3)
    assert conv.weight.std().item() == pytest.approx(1.0, rel=0.1) and conv.weight_gain == pytest.approx(1 / math.sqrt(72))


def test_minibatch_std_matches_a_hand_computation():
    torch.manual_seed(0)
    x = torch.randn(8, 4, 3, 3)
    out = MinibatchStd(group_size=4, num_channels=1)(x)
    assert out.shape == (8, 5, 3, 3) and torch.equal(out[:, :4], x)
    for g in range(2):  # consecutive groups: samples 0-3 and 4-7
        group = x[4 * g:4 * g + 4]
        std = ((group - group.mean(0)).square().mean(0) + 1e-8).sqrt().mean()
        assert torch.allclose(out[4 * g:4 * g + 4, 4], std.expand(4, 3, 3), atol=1e-6)
    two = MinibatchStd(group_size=4, num_channels=2)(x)
    first = x[:4, :2]
    assert torch.allclose(two[0, 4], ((first - first.mean(0)).square().mean(0) + 1e-8).sqrt().mean().expand(3, 3),
                          atol=1e-6)
    # a batch the group size does not divide: the largest group size ≤ 4 that divides it (6 → 3)
    assert MinibatchStd(4).group(6) == 3 and MinibatchStd(4).group(7) == 1 and MinibatchStd(32).group(64) == 32


def test_normalize_2nd_moment():
    z = torch.randn(5, 32) * 7
    assert torch.allclose(normalize_2nd_moment(z).square().mean(1), torch.ones(5), atol=1e-5)


@pytest.mark.parametrize("side, start, num_ws", [(28, 7, 6), (32, 4, 8), (64, 4, 10), (128, 4, 12)])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_output_shapes_at_each_size_with_and_without_labels(side, start, num_ws, num_classes):
    torch.manual_seed(0)
    G, D = build((3, side, side), num_classes, d_args={"channel_base": 256, "channel_max": 8})
    assert G.synthesis.start == D.start == start and G.num_ws == num_ws
    assert G.conditional == D.conditional == bool(num_classes)
    y = torch.tensor([0, 3, 9, 1]) if num_classes else None
    x = G(torch.randn(4, G.z_dim), y)
    assert x.shape == (4, 3, side, side) and x.dtype == torch.float32
    logits = D(x, y)
    assert logits.shape == (4,) and torch.isfinite(logits).all()
    ws = G.mapping(torch.randn(4, G.z_dim), y)
    assert ws.shape == (4, num_ws, G.w_dim) and G.synthesis(ws).shape == (4, 3, side, side)


def test_widths_follow_channel_base_and_max():
    G, D = build((1, 32, 32), g_args={"channel_base": 1024, "channel_max": 64},
                 d_args={"channel_base": 1024, "channel_max": 64})
    assert G.synthesis.widths == {4: 64, 8: 64, 16: 64, 32: 32}
    assert D.widths == {32: 32, 16: 64, 8: 64, 4: 64}


def test_style_mixing_switches_w_at_the_drawn_layer():
    torch.manual_seed(0)
    G, _ = build((1, 32, 32), g_args={"style_mixing": 1.0})
    G.train()
    z = torch.randn(4, G.z_dim)
    ws = G.mapping(z, update_w_avg=False)
    for seed in range(5):
        torch.manual_seed(seed)
        mixed = G.mix_styles(ws, z, None)
        torch.manual_seed(seed)  # replay the draws: cutoff, the mixing coin, fresh latents
        cutoff = int(torch.randint(1, G.num_ws, ()))
        torch.rand(())
        other = G.mapping(torch.randn_like(z), update_w_avg=False)
        assert torch.equal(mixed[:, :cutoff], ws[:, :cutoff]), seed
        assert torch.equal(mixed[:, cutoff:], other[:, cutoff:]), seed
        assert 1 <= cutoff < G.num_ws
    G.style_mixing = 0.0
    assert torch.equal(G.mix_styles(ws, z, None), ws)


def test_style_mixing_happens_with_its_probability_and_only_in_training():
    torch.manual_seed(0)
    G, _ = build((1, 32, 32))
    assert G.style_mixing == 0.9
    z = torch.randn(2, G.z_dim)
    ws = G.mapping(z, update_w_avg=False)
    mixed = sum(not torch.equal(G.mix_styles(ws, z, None), ws) for _ in range(300))
    assert 0.85 * 300 < mixed < 0.95 * 300
    G.eval()
    assert torch.equal(G(z), G(z))  # eval: no mixing, constant noise


def test_w_avg_tracks_the_mean_w_in_training_only():
    torch.manual_seed(0)
    G, _ = build((1, 32, 32), g_args={"style_mixing": 0.0})
    assert torch.equal(G.w_avg, torch.zeros(G.w_dim)) and G.w_avg is G.mapping.w_avg
    z = torch.randn(8, G.z_dim)
    G.train()
    G(z)
    w = G.mapping(z, update_w_avg=False)[:, 0]
    assert torch.allclose(G.w_avg, w.mean(0) * (1 - 0.995), atol=1e-6)
    G.eval()
    before = G.w_avg.clone()
    G(z)
    assert torch.equal(G.w_avg, before)


def test_truncation_psi_0_is_the_w_avg_image_and_psi_1_the_untruncated_one():
    torch.manual_seed(0)
    G, _ = build((1, 32, 32))
    G.mapping.w_avg.normal_()  # a w_avg of its own, as after training
    G.eval()
    z = torch.randn(3, G.z_dim)
    centre = G.synthesis(G.w_avg.expand(1, G.num_ws, -1))
    at_zero = G(z, truncation_psi=0.0)
    assert torch.allclose(at_zero, centre.expand(3, -1, -1, -1), atol=1e-5)
    assert torch.equal(G(z, truncation_psi=1.0), G(z))
    half = G.mapping(z, truncation_psi=0.5)
    full = G.mapping(z)
    assert torch.allclose(half, G.w_avg + 0.5 * (full - G.w_avg), atol=1e-6)
    cut = G.mapping(z, truncation_psi=0.0, truncation_cutoff=2)  # only the first 2 copies of w
    assert torch.allclose(cut[:, :2], G.w_avg.expand(3, 2, -1)) and torch.equal(cut[:, 2:], full[:, 2:])


def test_noise_modes():
    torch.manual_seed(0)
    G, _ = build((1, 32, 32))
    for m in G.modules():
        if hasattr(m, "noise_strength"):
            m.noise_strength.data.fill_(0.5)
    G.eval()
    z = torch.randn(2, G.z_dim)
    const = G(z)
    assert torch.equal(const, G(z, noise_mode="const"))
    assert not torch.allclose(G(z, noise_mode="random"), G(z, noise_mode="random"))
    none = G(z, noise_mode="none")
    assert not torch.allclose(none, const)
    G.train()
    G.style_mixing = 0.0
    assert not torch.allclose(G(z), G(z))  # training: fresh noise each forward
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, noise_mode="bad")


def test_fused_and_unfused_generators_agree():
    torch.manual_seed(0)
    G, _ = build((1, 32, 32))
    for m in G.modules():
        if hasattr(m, "noise_strength"):
            m.noise_strength.data.fill_(0.3)
    G.eval()
    z = torch.randn(3, G.z_dim)
    fused = G(z)
    G.synthesis.fused_modconv = False
    assert torch.allclose(fused, G(z), atol=1e-5)


def test_tanh_output_squashes_the_linear_image_in_every_path():
    torch.manual_seed(0)
    linear, _ = build((1, 32, 32))
    squashed, _ = build((1, 32, 32), g_args={"output": "tanh"})
    squashed.load_state_dict(linear.state_dict())
    for m in (linear, squashed):
        for layer in m.modules():
            if hasattr(layer, "torgb"):
                layer.torgb.weight.data.mul_(4)  # an image well beyond [-1, 1], so tanh has something to do
    linear.eval(), squashed.eval()
    z = torch.randn(4, linear.z_dim)
    img = linear(z)
    assert img.abs().max() > 1.5
    assert torch.allclose(squashed(z), img.tanh(), atol=1e-6)
    # path length differentiates the training forward's images: they are squashed too
    squashed.train(), linear.train()
    squashed.style_mixing = linear.style_mixing = 0.0
    torch.manual_seed(1)
    out, _ = squashed.images_and_ws(z)
    torch.manual_seed(1)
    ref, _ = linear.images_and_ws(z)
    assert torch.allclose(out, ref.tanh(), atol=1e-6) and out.abs().max() <= 1
    with pytest.raises(GankitError, match=r"^generator.output: 'linear' .*got 'sigmoid'"):
        build((1, 32, 32), g_args={"output": "sigmoid"})


def test_conditional_models_use_their_labels():
    torch.manual_seed(0)
    G, D = build((1, 28, 28), 10)
    G.eval()
    z = torch.randn(1, G.z_dim).expand(4, -1)
    x = G(z, torch.arange(4))
    assert all((x[i] - x[j]).abs().max() > 1e-4 for i in range(4) for j in range(i))
    assert torch.equal(G(z, y=torch.arange(4)), x)  # gankit's G(z, y) name for the labels
    same = x[:1].expand(4, -1, -1, -1)
    logits = D(same, torch.arange(4))
    assert len(set(logits.tolist())) == 4
    # projection: ⟨out(φ(x)), cmap(y)⟩ / √cmap_dim
    with pytest.raises(ValueError, match="labels"):
        G(z)
    with pytest.raises(ValueError, match="labels"):
        D(same)


def test_unconditional_when_asked_and_argument_errors():
    G, D = build((1, 32, 32), 10, g_args={"conditional": False}, d_args={"conditional": False})
    assert not G.conditional and not D.conditional and G.mapping.embed is None and D.mapping is None
    with pytest.raises(GankitError, match="architecture"):
        build((1, 32, 32), d_args={"architecture": "skip"})
    with pytest.raises(GankitError, match="style_mixing"):
        build((1, 32, 32), g_args={"style_mixing": 2.0})
    with pytest.raises(GankitError, match="generator"):
        build((1, 30, 30))


def test_orig_discriminator_has_no_skips_and_d_is_twice_differentiable():
    torch.manual_seed(0)
    _, D = build((1, 32, 32), d_args={"architecture": "orig"})
    assert all(b.skip is None for b in D.blocks)
    _, D = build((1, 32, 32))
    x = torch.randn(4, 1, 32, 32, requires_grad=True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    g.square().sum().backward()  # R1's double backward
    missing = [n for n, p in D.named_parameters() if p.grad is None]
    assert missing == ["epilogue.out.bias"]  # ∇ₓD does not depend on the last bias
