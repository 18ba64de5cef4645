"""StyleGAN2 layers (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), plain PyTorch.

Equalised learning rate everywhere: every weight is stored as N(0, 1) (N(0, 1/λ²) for a layer with
learning-rate multiplier λ) and scaled at run time by ``λ / √fan_in``, so Adam's step moves every
layer at the same relative rate. Biases are scaled by λ. Activations are leaky ReLU(0.2) × √2.

Resampling uses the [1, 3, 3, 1] low-pass filter (``lowpass_kernel((1, 2, 1))``, normalised):

* ×2 up inside a convolution: a stride-2 transposed 3×3 convolution (2H + 1 pixels), then the
  filter × 4 with one pixel of padding (2H);
* ×½ down inside a convolution: the filter with two pixels of padding (H + 1), then a stride-2
  3×3 convolution (H / 2);
* the image skips and D's residual skips: zero-stuffing + filter (``Upsample2x``) and filter +
  every second pixel (``Downsample2x``), the same operators R3GAN's blocks use.

Modulated convolution (StyleGAN2 Eq. 1-3): w'_oikk = s_i · w_oikk, then, with demodulation,
w''_oikk = w'_oikk / √(Σ_ikk w'_oikk² + ε), so a unit-variance input gives a unit-variance output.
Leaky ReLU is positively homogeneous (lrelu(a)·c = lrelu(c·a), c > 0), so every gain is folded into the
weights or the convolution's epilogue rather than costing a pass over the activations.
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models.precision import clamp
from gankit.models.r3gan_blocks import Downsample2x, lowpass_kernel

SLOPE = 0.2
LRELU_GAIN = math.sqrt(2)  # StyleGAN2's def_gain of lrelu
FILTER_TAPS = (1, 2, 1)  # lowpass_taps((1, 2, 1)) = [1, 3, 3, 1] / 8


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / √(mean_j x_j² + ε) per row: StyleGAN's pixel norm of z (and of a label embedding)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class _Filter(torch.autograd.Function):
    """A depthwise 'same-kernel' filter with ``pad`` pixels of zero padding (no stride).

    For a flip-symmetric kernel of side k its adjoint is the same filter with k − 1 − pad pixels of
    padding, so the backward is this op again: differentiable any number of times (path length
    and R1 differentiate twice) at the cost of one depthwise convolution.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel: torch.Tensor, pad: int) -> torch.Tensor:
        ctx.kernel, ctx.pad = kernel, pad
        return _filter(x, kernel, pad)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return _Filter.apply(grad, ctx.kernel, ctx.kernel.shape[-1] - 1 - ctx.pad), None, None


def _filter(x: torch.Tensor, kernel: torch.Tensor, pad: int) -> torch.Tensor:
    c = x.shape[1]
    return F.conv2d(x, kernel.to(x.dtype).expand(c, 1, *kernel.shape), padding=pad, groups=c)


def fir_filter(x: torch.Tensor, kernel: torch.Tensor, pad: int) -> torch.Tensor:
    """Filter every channel of ``x`` with the symmetric 2-D ``kernel``: H → H + 2·pad − k + 1."""
    return _Filter.apply(x, kernel, pad)


class FullyConnected(nn.Module):
    """Equalised-lr linear layer: y = act(x · (λ/√in · W)ᵀ + λ·b), W ~ N(0, 1/λ²), b = bias_init."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        if activation not in ("lrelu", "linear"):
            raise ValueError(f"unknown activation {activation!r} (lrelu or linear)")
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = LRELU_GAIN if self.activation == "lrelu" else 1.0  # lrelu(y) · √2 = lrelu(√2 · y)
        w = self.weight.to(x.dtype) * (self.weight_gain * g)
        if self.bias is None:
            x = x.matmul(w.t())
        else:
            x = torch.addmm((self.bias * (self.bias_gain * g)).to(x.dtype), x, w.t())
        return F.leaky_relu_(x, SLOPE) if self.activation == "lrelu" else x


class Conv2dLayer(nn.Module):
    """Equalised-lr convolution ('same' padding) with an optional ×½ down-sampling ([1,3,3,1] filter).

    act(conv(x, W/√fan_in) + b) · gain (lrelu: × √2 as well); leaky ReLU is positively homogeneous,
    so the gains are folded into the (small) weight and bias instead of scaling the activations.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", down: int = 1, conv_clamp: Optional[float] = None):
        super().__init__()
        self.conv_clamp = conv_clamp  # outputs clamped to ±conv_clamp·gain (StyleGAN2-ADA)
        if down not in (1, 2):
            raise ValueError(f"down must be 1 or 2, got {down}")
        if activation not in ("lrelu", "linear"):
            raise ValueError(f"unknown activation {activation!r} (lrelu or linear)")
        self.activation, self.down, self.kernel_size = activation, down, kernel_size
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.register_buffer("kernel", lowpass_kernel(FILTER_TAPS), persistent=False)
        self.downsample = Downsample2x(FILTER_TAPS) if down == 2 and kernel_size == 1 else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        g = gain * (LRELU_GAIN if self.activation == "lrelu" else 1.0)
        w = self.weight.to(x.dtype) * (self.weight_gain * g)
        b = None if self.bias is None else (self.bias * g).to(x.dtype)
        p = self.kernel_size // 2
        if self.down == 1:
            x = F.conv2d(x, w, b, padding=p)
        elif self.downsample is not None:  # 1×1: filter + every second pixel first, then the convolution
            x = F.conv2d(self.downsample(x), w, b)
        else:  # filter with padding p + 1 (H + 2p − 2), then the strided convolution (H / 2)
            x = F.conv2d(fir_filter(x, self.kernel, p + 1), w, b, stride=2)
        x = F.leaky_relu_(x, SLOPE) if self.activation == "lrelu" else x
        return clamp(x, None if self.conv_clamp is None else self.conv_clamp * gain)


def demodulation(weight: torch.Tensor, styles: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """d_no = 1/√(Σ_ikk (s_ni·w_oikk)² + ε) (N, O), as s² · (Σ_kk w²)ᵀ: one small matmul."""
    dt = torch.promote_types(styles.dtype, torch.float32)  # fp32 at least, autocast off
    with torch.autocast(device_type=styles.device.type, enabled=False):
        return (styles.to(dt).square() @ weight.to(dt).square().sum(dim=(2, 3)).t() + eps).rsqrt()


def modulated_weights(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True) -> torch.Tensor:
    """The per-sample weights (N, O, I, k, k): s_ni·w_oikk, times d_no with ``demodulate``."""
    w = weight.unsqueeze(0) * styles.reshape(styles.shape[0], 1, -1, 1, 1)
    if demodulate:
        w = w * demodulation(weight, styles).to(w.dtype).reshape(styles.shape[0], -1, 1, 1, 1)
    return w


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, noise: Optional[torch.Tensor] = None,
                     up: int = 1, demodulate: bool = True, fused: bool = True, kernel: Optional[torch.Tensor] = None,
                     bias: Optional[torch.Tensor] = None, gain: float = 1.0) -> torch.Tensor:
    """StyleGAN2's modulated (and demodulated) convolution of x (N, I, H, W) with styles s (N, I):
    gain · (conv(x, w'') + noise + bias), w''_noikk = s_ni·w_oikk·d_no (see ``modulated_weights``).

    ``fused``: one grouped convolution (groups = N) with the per-sample weights. Otherwise the same
    numbers by scaling activations, conv(x · s, w) · d (what StyleGAN2-ADA trains with: a plain
    convolution, cheaper to differentiate twice). ``up=2`` doubles the side (the [1,3,3,1] filter,
    ``kernel``); ``noise`` broadcasts to the output; ``bias`` is per output channel.
    """
    n, cin, h, wd = x.shape
    cout, _, k, _ = weight.shape
    p = k // 2
    if x.dtype == torch.float16 and demodulate:  # StyleGAN2-ADA: scale w and s to ≤ 1 so fp16 cannot overflow
        weight = weight * (1 / math.sqrt(cin * k * k) / weight.abs().amax(dim=(1, 2, 3), keepdim=True))
        styles = styles / styles.abs().amax(dim=1, keepdim=True)  # (demodulation undoes both scalings)
    if fused:
        w = modulated_weights(weight, styles, demodulate) * gain
        xg, b = x.reshape(1, n * cin, h, wd), None
        if up == 1:
            if bias is not None:  # the grouped convolution adds it
                b, bias = (bias * gain).to(x.dtype).repeat(n), None
            x = F.conv2d(xg, w.reshape(n * cout, cin, k, k).to(x.dtype), b, padding=p, groups=n)
        else:  # conv_transpose2d's grouped weight is (groups · in, out, k, k)
            wt = w.transpose(1, 2).reshape(n * cin, cout, k, k).to(x.dtype)
            x = F.conv_transpose2d(xg, wt, stride=2, groups=n)
        x = x.reshape(n, cout, *x.shape[2:])
        scale = None
    else:
        x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)
        w = weight.to(x.dtype)
        x = F.conv2d(x, w, padding=p) if up == 1 else F.conv_transpose2d(x, w.transpose(0, 1), stride=2)
        scale = demodulation(weight, styles) * gain if demodulate else (gain if gain != 1 else None)
    if up == 2:  # (2H + 1) → 2H: the [1,3,3,1] filter × 4 with one pixel of padding
        x = fir_filter(x, 4 * kernel, p)
    shift = None if bias is None else (bias * gain).to(x.dtype).reshape(1, -1, 1, 1)
    if isinstance(scale, torch.Tensor):
        scale = scale.to(x.dtype).reshape(n, -1, 1, 1)
        x = x * scale if shift is None else torch.addcmul(shift, x, scale)
    elif scale is not None:
        x = x * scale if shift is None else torch.add(shift, x, alpha=scale)
    elif shift is not None:
        x = x + shift
    if noise is not None:
        x = x.add_(noise.to(x.dtype) * gain)  # x is a fresh tensor here: the addition can be in place
    return x


class SynthesisLayer(nn.Module):
    """A modulated 3×3 convolution (styles = affine(w), bias 1 at init), per-pixel noise × a learned
    strength (0 at init), bias, leaky ReLU × √2; ``up=2`` doubles the side."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: int = 1,
                 use_noise: bool = True, kernel_size: int = 3, conv_clamp: Optional[float] = None):
        super().__init__()
        self.up, self.resolution, self.use_noise, self.conv_clamp = up, resolution, use_noise, conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("kernel", lowpass_kernel(FILTER_TAPS), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random", fused: bool = True) -> torch.Tensor:
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        # lrelu(y) · √2 = lrelu(√2 · y): the gain goes into the convolution's epilogue
        x = modulated_conv2d(x, self.weight, styles, noise, up=self.up, fused=fused, kernel=self.kernel,
                             bias=self.bias, gain=LRELU_GAIN)
        return clamp(F.leaky_relu_(x, SLOPE), self.conv_clamp)


class ToRGB(nn.Module):
    """A modulated 1×1 convolution to the image channels, without demodulation, plus a bias (linear)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: Optional[float] = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused, bias=self.bias)
        return clamp(x, self.conv_clamp)


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018): F extra channels, each the standard
    deviation over a group of samples, averaged over its C/F channels and all pixels.

    Groups are ``group_size`` consecutive samples (the largest size ≤ ``group_size`` that divides
    the batch). StyleGAN2 groups samples i, i + N/G, ...; gankit's D judges real, generated and a
    penalty's images in ONE forward, one after another, so consecutive groups stay within one kind
    of image whenever each part's size is a multiple of the group size.
    """

    def __init__(self, group_size: int = 4, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = int(group_size), int(num_channels)

    def group(self, n: int) -> int:
        return max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g, f = self.group(n), self.num_channels
        y = x.reshape(n // g, g, f, c // f, h, w).float()
        y = (y - y.mean(dim=1, keepdim=True)).square().mean(dim=1)  # variance over the group: (n/g, F, c, H, W)
        y = (y + 1e-8).sqrt().mean(dim=(2, 3, 4))  # (n/g, F)
        y = y.to(x.dtype).repeat_interleave(g, dim=0).reshape(n, f, 1, 1).expand(n, f, h, w)
        return torch.cat([x, y], dim=1)
