"""Class-conditional models: G(z, y) and D(x, y), and ACGAN's D(x, y=None) → Verdict(logits, classes).

A model that takes labels sets ``conditional = True`` and ``num_classes``; the trainer then
passes labels (real labels for real images, sampled labels for fakes).

The wrappers reuse unconditional models as their ``body``: ``conditional`` feeds any generator,
``projection`` and ``acgan`` read the features of any discriminator that has ``features(x)``
(N, F) and a ``head`` Linear(F, 1) (all built-in ones do).
"""
from typing import Optional

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.models.base import Verdict
from gankit.models.layers import ConditionalBatchNorm2d, conv_plan, init_dcgan, require_classes


@GENERATORS.register("conditional")
class ConcatConditionalGenerator(nn.Module):
    """Mirza & Osindero cGAN: the label (one-hot, or a learned embedding) concatenated with z, fed to any body G.

    The label code must not outweigh z: with a default N(0, 1) 16-d embedding on the MNIST recipes,
    the class whose row had the largest norm became an outlier in the body's BatchNorm and saturated
    to a blank image (3 of 3 seeds). One-hot codes (the default) keep every class alike; a learned
    embedding (``embed_dim``) starts with rows of expected norm 1, as one-hot rows have.
    """

    conditional = True

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: int = 10, z_dim: int = 96,
                 embed_dim: Optional[int] = None, body: str = "dcgan_mnist", body_args: Optional[dict] = None):
        super().__init__()
        self.num_classes = require_classes(num_classes, "generator", "conditional")
        self.z_dim, self.img_shape = z_dim, tuple(img_shape)
        if embed_dim is None:  # one-hot, as a fixed (non-trained) table
            self.embed = nn.Embedding.from_pretrained(torch.eye(self.num_classes), freeze=True)
        else:
            self.embed = nn.Embedding(self.num_classes, embed_dim)
            nn.init.normal_(self.embed.weight, 0.0, embed_dim ** -0.5)
        node = {"name": body, **(body_args or {}), "z_dim": z_dim + self.embed.embedding_dim}
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


def discriminator_body(body: str, body_args: Optional[dict], img_shape, family: str) -> nn.Module:
    """An unconditional discriminator to wrap: it must have ``features(x)`` and a ``head`` Linear(F, 1)."""
    D = DISCRIMINATORS.build({"name": body, **(body_args or {})}, "discriminator.body", {"img_shape": img_shape})
    if getattr(D, "conditional", False) or not callable(getattr(D, "features", None)) \
            or not isinstance(getattr(D, "head", None), nn.Linear):
        raise GankitError(
            f"discriminator.body: {family} needs an unconditional discriminator with features(x) and a head "
            f"Linear(F, 1), and '{body}' is not one. Name one of the built-in ones (dcgan_mnist, dcgan, resnet, mlp) "
            f"or give your discriminator those two members.")
    return D


@DISCRIMINATORS.register("projection")
class ProjectionDiscriminator(nn.Module):
    """Miyato & Koyama projection D: head(φ(x)) + ⟨embed(y), φ(x)⟩, φ = the body D's features."""

    conditional = True

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: int = 10, body: str = "resnet",
                 body_args: Optional[dict] = None, spectral_norm: bool = True):
        super().__init__()
        self.num_classes = require_classes(num_classes, "discriminator", "projection")
        self.body = discriminator_body(body, body_args, img_shape, "projection")
        self.embed = nn.Embedding(self.num_classes, self.body.head.in_features)
        nn.init.xavier_uniform_(self.embed.weight)
        if spectral_norm:  # on the class embedding (the body has its own setting)
            nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.body.features(x)
        return self.body.head(h).squeeze(1) + (self.embed(y).to(h.dtype) * h).sum(dim=1)


@DISCRIMINATORS.register("acgan")
class ACGANDiscriminator(nn.Module):
    """Odena et al. ACGAN D: the body D's real/fake logit plus a class-logit head on its features."""

    def __init__(self, img_shape: tuple = (1, 28, 28), num_classes: int = 10, body: str = "dcgan",
                 body_args: Optional[dict] = None, dropout: float = 0.0, aux_weight: float = 1.0):
        super().__init__()
        self.num_classes = require_classes(num_classes, "discriminator", "acgan")
        self.aux_weight = aux_weight
        self.body = discriminator_body(body, body_args, img_shape, "acgan")
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.cls = nn.Linear(self.body.head.in_features, self.num_classes)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> Verdict:
        h = self.drop(self.body.features(x))
        return Verdict(self.body.head(h).squeeze(1), self.cls(h))
