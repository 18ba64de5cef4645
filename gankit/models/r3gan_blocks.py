"""R3GAN layers (Huang et al. 2024): MSR-initialised convolutions, biased leaky ReLU, ResNeXt blocks, [1,2,1] resamplers.

No layer here normalises activations. Every weight is drawn from N(0, gain² / fan_in) ("MSR" init);
the only biases are those R3GAN adds before each leaky ReLU (zero at init), held here by the
convolution just before it. A residual block's last 1×1 convolution starts at zero, so each block is
the identity when built, and the gains of its first two layers are scaled by L^(-1/4), L = the number
of blocks in the network (fix-up style variance scaling: the sum of L residual branches keeps the
signal's variance bounded as they learn).
"""
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

SLOPE = 0.2  # leaky ReLU slope, as R3GAN
LRELU_GAIN = math.sqrt(2 / (1 + SLOPE ** 2))  # keeps the second moment through a leaky ReLU of N(0, 1) input


def msr_init_(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """Weights ~ N(0, (gain / sqrt(fan_in))²), biases 0; fan_in = input channels per group × kernel area."""
    w = layer.weight
    fan_in = w.shape[1] * w[0][0].numel()
    with torch.no_grad():
        w.normal_(0.0, gain / math.sqrt(fan_in))
        if getattr(layer, "bias", None) is not None:
            layer.bias.zero_()
    return layer


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` in its input's dtype (its weights cast, as R3GAN's layers do): an fp16 stage runs in fp16
    on fp32 weights (``num_fp16_res``); an fp32 input leaves everything as ``nn.Conv2d`` has it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = None if self.bias is None else self.bias.to(x.dtype)
        return self._conv_forward(x, self.weight.to(x.dtype), b)


class Linear(nn.Linear):
    """``nn.Linear`` in its input's dtype (its weights cast)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight.to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


def conv(cin: int, cout: int, kernel: int = 1, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    """A bias-free 'same' convolution with MSR init."""
    return msr_init_(Conv2d(cin, cout, kernel, padding=(kernel - 1) // 2, groups=groups, bias=False), gain)


def linear(fin: int, fout: int, gain: float = 1.0) -> nn.Linear:
    """A bias-free linear layer with MSR init."""
    return msr_init_(Linear(fin, fout, bias=False), gain)


def biased_conv(cin: int, cout: int, kernel: int = 1, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    """A 'same' convolution with MSR init whose (zero-initialised) bias is that of the activation after it.

    R3GAN adds a per-channel bias right before each leaky ReLU; folding it into the preceding
    convolution computes the same function in one pass less.
    """
    layer = Conv2d(cin, cout, kernel, padding=(kernel - 1) // 2, groups=groups, bias=True)
    return msr_init_(layer, gain)


def act(x: torch.Tensor) -> torch.Tensor:
    """leaky_relu(x, 0.2), in place (x is a fresh convolution output)."""
    return F.leaky_relu_(x, SLOPE)


def lowpass_taps(taps: Sequence[float] = (1, 2, 1)) -> list[float]:
    """The 1-D interpolation filter of R3GAN's InterpolativeUp/Downsampler: taps * [1, 1], summing to 1.

    [1, 2, 1] gives [1, 3, 3, 1] / 8: bilinear interpolation between pixel centres.
    """
    taps = [float(t) for t in taps]
    if len(taps) % 2 != 1 or taps != taps[::-1]:
        raise ValueError(f"the resampling filter must be symmetric with an odd number of taps, got {taps}")
    k = [a + b for a, b in zip([0.0] + taps, taps + [0.0])]
    return [v / sum(k) for v in k]


def lowpass_kernel(taps: Sequence[float] = (1, 2, 1)) -> torch.Tensor:
    """The separable 2-D kernel: the outer product of ``lowpass_taps`` with itself ([1,3,3,1]² / 64)."""
    k = torch.tensor(lowpass_taps(taps), dtype=torch.float64)
    return torch.outer(k, k).float()


class _Resample2x(torch.autograd.Function):
    """A fixed depthwise ×2 resampling (``up``: transposed convolution, else strided convolution) whose
    backward is the other one (its adjoint), so it can be differentiated any number of times at the
    cost of a depthwise convolution: R1/R2 penalties differentiate D twice, and PyTorch's generic
    double backward of a grouped convolution runs one small convolution per channel on CPUs."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel: torch.Tensor, up: bool, size=None) -> torch.Tensor:
        ctx.kernel, ctx.up, ctx.size = kernel, up, x.shape[-2:]
        return _resample(x, kernel, up, size)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if ctx.up:  # adjoint of the transposed convolution: the strided convolution with the same weights
            return _Resample2x.apply(grad, ctx.kernel, False), None, None, None
        return _Resample2x.apply(grad, ctx.kernel, True, ctx.size), None, None, None


def _resample(x: torch.Tensor, kernel: torch.Tensor, up: bool, size=None) -> torch.Tensor:
    c, r = x.shape[1], (kernel.shape[-1] - 1) // 2
    w = kernel.to(x.dtype).expand(c, 1, *kernel.shape)
    if not up:
        return F.conv2d(x, w, stride=2, padding=r, groups=c)
    pad = [0, 0] if size is None else [s - 2 * n for s, n in zip(size, x.shape[-2:])]  # odd sizes (adjoint only)
    return F.conv_transpose2d(x, w, stride=2, padding=r, output_padding=pad, groups=c)


class Upsample2x(nn.Module):
    """×2 bilinear upsampling, R3GAN's InterpolativeUpsampler: zero-stuffing then the low-pass kernel (×4 gain).

    Zero padding at the borders: the interior of a constant image stays constant, edge rows and
    columns read zeros beyond the edge (for [1, 2, 1]: 3/4 of the value on an edge, 9/16 in a corner).
    """

    def __init__(self, taps: Sequence[float] = (1, 2, 1)):
        super().__init__()
        self.register_buffer("kernel", 4 * lowpass_kernel(taps), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Resample2x.apply(x, self.kernel, True)


class Downsample2x(nn.Module):
    """×½ downsampling, R3GAN's InterpolativeDownsampler: the low-pass kernel, then every second pixel.

    For [1, 2, 1] an output pixel is the [1, 3, 3, 1]² / 64 weighted sum of a 4×4 window (stride 2);
    zero padding: on an edge row or column 1/8 of the window lies outside and reads zero.
    """

    def __init__(self, taps: Sequence[float] = (1, 2, 1)):
        super().__init__()
        self.register_buffer("kernel", lowpass_kernel(taps), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Resample2x.apply(x, self.kernel, False)


class ResidualBlock(nn.Module):
    """x + conv1×1(act(grouped conv k×k(act(conv1×1(x))))): expand by ``expansion``, ``cardinality`` groups.

    The last 1×1 starts at zero (the block is the identity at init); the first two layers get the
    leaky-ReLU gain times ``total_blocks`` ** (-1/4) (R3GAN's variance scaling, 3 linear layers).
    """

    def __init__(self, channels: int, cardinality: int, expansion: int, total_blocks: int, kernel: int = 3):
        super().__init__()
        wide = channels * expansion
        if wide % cardinality:
            raise ValueError(f"a residual block of {channels} channels × expansion {expansion} = {wide} "
                             f"cannot be split into cardinality {cardinality} groups")
        gain = LRELU_GAIN * total_blocks ** (-1 / (2 * 3 - 2))
        self.expand = biased_conv(channels, wide, 1, gain=gain)
        self.grouped = biased_conv(wide, wide, kernel, groups=cardinality, gain=gain)
        self.project = conv(wide, channels, 1, gain=0.0)  # zero: the identity at init

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(act(self.grouped(act(self.expand(x)))))


class UpTransition(nn.Module):
    """Between generator stages: a 1×1 convolution when the width changes, then ×2 upsampling."""

    def __init__(self, cin: int, cout: int, taps: Sequence[float]):
        super().__init__()
        self.linear = conv(cin, cout, 1) if cin != cout else nn.Identity()
        self.resample = Upsample2x(taps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resample(self.linear(x))


class DownTransition(nn.Module):
    """Between discriminator stages: ×2 downsampling, then a 1×1 convolution when the width changes."""

    def __init__(self, cin: int, cout: int, taps: Sequence[float]):
        super().__init__()
        self.resample = Downsample2x(taps)
        self.linear = conv(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.resample(x))


class GenerativeBasis(nn.Module):
    """The generator's input: a learned side×side constant per channel (N(0, 1)) scaled per channel by linear(z)."""

    def __init__(self, in_features: int, channels: int, side: int):
        super().__init__()
        self.basis = nn.Parameter(torch.randn(channels, side, side))
        self.linear = linear(in_features, channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.basis.to(z.dtype).unsqueeze(0) * self.linear(z)[:, :, None, None]


class DiscriminativeBasis(nn.Module):
    """The discriminator's output end: a depthwise side×side filter over the whole last map → (N, C) features.

    R3GAN's depthwise Conv2d(C, C, side, groups=C) without padding, MSR init (std 1/side), computed as
    Σ_hw x · w (the same numbers; cheaper to differentiate twice).
    """

    def __init__(self, channels: int, side: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(channels, side, side) / side)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight.to(x.dtype)).sum(dim=(2, 3))
