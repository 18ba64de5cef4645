"""Class-conditional models: G(z, y) and D(x, y) (or D(x) → (logits, class_logits) for ACGAN).

A model that takes labels sets ``conditional = True`` and ``num_classes``; the trainer then
passes labels (real labels for real images, sampled labels for fakes).
"""
from typing import Optional

import torch
from torch import nn

from ..errors import GankitError
from ..registry import DISCRIMINATORS, GENERATORS
from .dcgan import dcgan_trunk
from .layers import ConditionalBatchNorm2d, apply_spectral_norm, conv_plan, init_dcgan, min_side, require_classes
from .resnet import ResNetTrunk


@GENERATORS.register("conditional")
class ConcatConditionalGenerator(nn.Module):
    """Mirza & Osindero cGAN: a label embedding concatenated with z, fed to any unconditional body G."""

    conditional = True

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: int = 10, z_dim: int = 96,
                 embed_dim: int = 16, body: str = "dcgan_mnist", body_args: Optional[dict] = None):
        super().__init__()
        self.num_classes = require_classes(num_classes, "generator", "conditional")
        self.z_dim, self.img_shape = z_dim, tuple(img_shape)
        self.embed = nn.Embedding(self.num_classes, embed_dim)
        node = {"name": body, **(body_args or {}), "z_dim": z_dim + embed_dim}
        self.body = GENERATORS.build(node, "generator.body", {"img_shape": self.img_shape})
        if getattr(self.body, "conditional", False):
            raise GankitError(f"generator.body: '{body}' is itself conditional; name an unconditional generator.")

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([z, self.embed(y).to(z.dtype)], dim=1))


@GENERATORS.register("conditional_bn")
class CBNGenerator(nn.Module):
    """DCGAN generator whose BatchNorms take a per-class scale and shift (conditional BatchNorm)."""

    conditional = True

    def __init__(self, img_shape: tuple = (1, 32, 32), num_classes: int = 10, z_dim: int = 100, ngf: int = 64):
        super().__init__()
        self.num_classes = require_classes(num_classes, "generator", "conditional_bn")
        c, start, n_up = conv_plan(img_shape, "generator", "conditional_bn")
        self.z_dim, self.img_shape = z_dim, tuple(img_shape)
        ch = ngf * 2 ** (n_up - 1)
        self.convs = nn.ModuleList([nn.ConvTranspose2d(z_dim, ch, start, 1, 0, bias=False)])
        self.norms = nn.ModuleList([ConditionalBatchNorm2d(ch, self.num_classes)])
        for _ in range(n_up - 1):
            self.convs.append(nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False))
            self.norms.append(ConditionalBatchNorm2d(ch // 2, self.num_classes))
            ch //= 2
        self.out = nn.Sequential(nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh())
        init_dcgan(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = z[:, :, None, None]
        for conv, norm in zip(self.convs, self.norms):
            h = torch.relu(norm(conv(h), y))
        return self.out(h)


@DISCRIMINATORS.register("projection")
class ProjectionDiscriminator(nn.Module):
    """Miyato & Koyama projection D: ψ(φ(x)) + ⟨embed(y), φ(x)⟩ on the SNGAN ResNet trunk."""

    conditional = True

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: int = 10, ch: int = 128,
                 spectral_norm: bool = True):
        super().__init__()
        self.num_classes = require_classes(num_classes, "discriminator", "projection")
        self.trunk = ResNetTrunk(min_side(img_shape, 8, "discriminator", "projection"), ch)
        self.head = nn.Linear(ch, 1)
        self.embed = nn.Embedding(self.num_classes, ch)
        nn.init.xavier_uniform_(self.embed.weight)
        if spectral_norm:
            apply_spectral_norm(self)
            nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        return self.head(h).squeeze(1) + (self.embed(y).to(h.dtype) * h).sum(dim=1)


@DISCRIMINATORS.register("acgan")
class ACGANDiscriminator(nn.Module):
    """Odena et al. ACGAN D: DCGAN conv body with a real/fake logit and a class-logit head."""

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: int = 10, ndf: int = 64,
                 norm: str = "none", dropout: float = 0.25, aux_weight: float = 1.0):
        super().__init__()
        self.num_classes = require_classes(num_classes, "discriminator", "acgan")
        self.aux_weight = aux_weight
        c, start, n_down = conv_plan(img_shape, "discriminator", "acgan")
        body, ch = dcgan_trunk(c, n_down, ndf, norm, "discriminator")
        self.body = nn.Sequential(body, nn.Flatten(), nn.Dropout(dropout) if dropout else nn.Identity())
        self.adv = nn.Linear(ch * start * start, 1)
        self.cls = nn.Linear(ch * start * start, self.num_classes)
        init_dcgan(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.adv(h).squeeze(1), self.cls(h)
