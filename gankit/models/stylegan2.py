"""StyleGAN2 as StyleGAN2-ADA trains it (Karras et al. 2020, "Analyzing and Improving the Image Quality
of StyleGAN"; Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"), in plain
PyTorch (no custom CUDA ops).

G = synthesis ∘ mapping:
* mapping: z / √mean(z²) [⊕ e / √mean(e²), e = embed(one-hot y)] → ``mapping_layers`` equalised-lr
  linear layers (lr × ``mapping_lr``, leaky ReLU) → w, broadcast to ``num_ws`` copies; in training
  w_avg ← lerp(mean_batch w, w_avg, 0.995) (the centre of truncation) and, with probability
  ``style_mixing``, the copies from a random layer on come from the w of fresh latents.
  Truncation: w ← w_avg + ψ·(w − w_avg) on the first ``truncation_cutoff`` copies (all by default).
* synthesis: a learned start×start constant; per resolution a (×2 up) modulated 3×3 convolution and a
  modulated 3×3 convolution, each with per-pixel noise × a learned strength, and a toRGB whose image
  is added to the ×2 up-sampled image so far ('skip' architecture). The output is linear, as in the
  paper, or with ``output: tanh`` squashed into [-1, 1] (for data whose pixels sit on the bounds,
  e.g. MNIST's background at exactly -1: measured in docs/results.md).

Per-layer precision (``num_fp16_res``, ``conv_clamp``; ``gankit.models.precision``): the N highest
resolutions' blocks in fp16, activations clamped to ±conv_clamp, the rest in fp32, as StyleGAN2-ADA.

D (``stylegan2_discriminator.py``): residual blocks with [1,3,3,1] down-sampling, minibatch std,
projection of a mapped label. Layers: ``stylegan2_layers.py``; the mapping network: ``stylegan2_mapping.py``.

Sizes: side = start·2^k with start 4 (16, 32, 64, 128, ...) or 7 (28, 56, 112, ...). MNIST's 28×28 is
built from a 7×7 constant (and D ends at 7×7): the same layers at one stage fewer than 32×32, with no
padding or resizing. The width at side r is min(channel_base / r, channel_max).
Class conditioning is on when the data has ≥ 2 classes (``conditional: null``), always (``true``) or
never (``false``).
"""
from typing import Optional

import torch
from torch import nn

from gankit.config.registry import GENERATORS
from gankit.errors import GankitError
from gankit.models.layers import check_image_output, conditional_classes, conv_plan, image_output
from gankit.models.precision import block_dtype, check_clamp, fp16_sides, own_precision
from gankit.models.r3gan_blocks import Upsample2x
from gankit.models.stylegan2_layers import FILTER_TAPS, SynthesisLayer, ToRGB
from gankit.models.stylegan2_mapping import MappingNetwork, widths

NOISE_MODES = ("random", "const", "none")


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: (constant | ×2 up conv), conv, toRGB added to the image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 use_noise: bool, dtype: Optional[torch.dtype] = None, conv_clamp: Optional[float] = None):
        super().__init__()
        self.first = in_channels == 0
        self.dtype = dtype  # per-layer precision: float16 | float32; None: as autocast runs it
        clamp = dict(conv_clamp=conv_clamp)
        if self.first:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, use_noise=use_noise,
                                        **clamp)
            self.upsample = Upsample2x(FILTER_TAPS)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, use_noise=use_noise, **clamp)
        self.torgb = ToRGB(out_channels, img_channels, w_dim, **clamp)
        self.num_conv = 1 if self.first else 2

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str, fused: bool):
        if self.dtype == torch.float16:
            fused = False  # StyleGAN2-ADA: an fp16 block scales activations, never a grouped convolution
        if self.first:
            x = self.const.to(self.dtype or ws.dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], noise_mode, fused)
        else:
            x = x if self.dtype is None else x.to(self.dtype)
            x = self.conv0(x, ws[:, 0], noise_mode, fused)
            x = self.conv1(x, ws[:, 1], noise_mode, fused)
        y = self.torgb(x, ws[:, self.num_conv], fused).float()
        img = y if img is None else self.upsample(img) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) → images: a learned constant, then a SynthesisBlock per resolution ('skip')."""

    def __init__(self, w_dim: int, img_shape: tuple, channel_base: int, channel_max: int, use_noise: bool = True,
                 fused_modconv: Optional[bool] = None, output: str = "linear", num_fp16_res: int = 0,
                 conv_clamp: Optional[float] = None):
        super().__init__()
        self.output = output
        channels, self.start, n_up = conv_plan(img_shape, "generator", "stylegan2")
        self.resolutions = [self.start * 2 ** k for k in range(n_up + 1)]
        self.widths = widths(self.resolutions, channel_base, channel_max, "generator")
        self.fused_modconv = fused_modconv
        self.fp16 = fp16_sides(self.resolutions, num_fp16_res, "generator")
        self.own_precision = num_fp16_res > 0
        clamp = check_clamp(conv_clamp, "generator")
        self.blocks = nn.ModuleList()
        prev = 0
        for r in self.resolutions:
            self.blocks.append(SynthesisBlock(prev, self.widths[r], w_dim, r, channels, use_noise,
                                              block_dtype(r, self.fp16, self.own_precision), clamp))
            prev = self.widths[r]
        self.num_ws = sum(b.num_conv for b in self.blocks) + 1  # the last toRGB has a w of its own

    def forward(self, ws: torch.Tensor, noise_mode: Optional[str] = None) -> torch.Tensor:
        noise_mode = noise_mode or ("random" if self.training else "const")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        # StyleGAN2-ADA: scale activations in training (a plain convolution), one grouped one otherwise
        fused = (not self.training) if self.fused_modconv is None else self.fused_modconv
        x = img = None
        i = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, i:i + block.num_conv + 1], noise_mode, fused)
            i += block.num_conv
        return image_output(img, self.output)


@GENERATORS.register("stylegan2")
class StyleGAN2Generator(nn.Module):
    """StyleGAN2 (-ADA) generator: mapping z → w (w_avg, style mixing, truncation), modulated convs, skip toRGB."""

    def __init__(self, img_shape: tuple = (1, 32, 32), num_classes: Optional[int] = None,
                 conditional: Optional[bool] = None, z_dim: int = 512, w_dim: int = 512, mapping_layers: int = 8,
                 mapping_lr: float = 0.01, embed_dim: Optional[int] = None, channel_base: int = 32768,
                 channel_max: int = 512, w_avg_beta: float = 0.995, style_mixing: float = 0.9,
                 use_noise: bool = True, fused_modconv: Optional[bool] = None, output: str = "linear",
                 num_fp16_res: int = 0, conv_clamp: Optional[float] = None):
        super().__init__()
        if not 0 <= style_mixing <= 1:
            raise GankitError(f"generator.style_mixing: a probability in [0, 1], got {style_mixing}.")
        check_image_output(output, "StyleGAN2")
        self.num_classes = conditional_classes(num_classes, conditional, "generator", "stylegan2")
        self.conditional = bool(self.num_classes)
        self.z_dim, self.w_dim, self.img_shape = int(z_dim), int(w_dim), tuple(img_shape)
        self.style_mixing = float(style_mixing)
        self.synthesis = SynthesisNetwork(self.w_dim, self.img_shape, channel_base, channel_max, use_noise,
                                          fused_modconv, output, num_fp16_res, conv_clamp)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(self.z_dim, self.num_classes, self.w_dim, self.num_ws, mapping_layers,
                                      mapping_lr, embed_dim, w_avg_beta)

    @property
    def w_avg(self) -> torch.Tensor:
        """The running mean of w (StyleGAN's truncation centre), tracked in training mode."""
        return self.mapping.w_avg

    def mix_styles(self, ws: torch.Tensor, z: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        """Style mixing regularisation: with probability ``style_mixing`` the copies from a random
        layer k ∈ [1, num_ws) on come from the w of fresh latents (one k for the batch, as StyleGAN2-ADA)."""
        if self.style_mixing <= 0:
            return ws
        cutoff = torch.randint(1, self.num_ws, (), device=ws.device)
        mixing = torch.rand((), device=ws.device) < self.style_mixing
        cutoff = torch.where(mixing, cutoff, torch.full_like(cutoff, self.num_ws))
        other = self.mapping(torch.randn_like(z), labels, update_w_avg=False)
        later = torch.arange(self.num_ws, device=ws.device)[None, :, None] >= cutoff
        return torch.where(later, other.to(ws.dtype), ws)

    def images_and_ws(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None):
        """(images, ws) of a training forward (style mixing included): what path length differentiates."""
        with own_precision(self.synthesis.own_precision, z.device):
            ws = self.mapping(z, labels)
            if self.training:
                ws = self.mix_styles(ws, z, labels)
            return self.synthesis(ws), ws

    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None, truncation_psi: float = 1.0,
                truncation_cutoff: Optional[int] = None, noise_mode: Optional[str] = None, *,
                y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Images from z (and labels; ``y`` is the same argument under gankit's G(z, y) name).

        ``noise_mode``: random | const | none; default random in training mode, const in eval mode
        (so evaluation and sampling are deterministic and touch no RNG). Style mixing: training only.
        """
        if y is not None:
            if labels is not None:
                raise TypeError("pass the labels once: labels or y")
            labels = y
        if not self.conditional:
            labels = None
        with own_precision(self.synthesis.own_precision, z.device):  # num_fp16_res: its blocks cast themselves
            ws = self.mapping(z, labels, truncation_psi, truncation_cutoff)
            if self.training:
                ws = self.mix_styles(ws, z, labels)
            return self.synthesis(ws, noise_mode)
