"""Adversarial losses: each a pair of pure functions of D's logits.

``d(real_logits, fake_logits)`` is the discriminator's loss to minimise,
``g(fake_logits, real_logits)`` the generator's. ``real_logits`` in ``g`` is only
read by losses that compare against real data (relativistic); those set ``g_uses_real``
and the trainer then judges the real batch again with the just-updated D in G's phase
(otherwise ``g`` gets the D phase's real logits, from before D's update).
"""
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from gankit.config.registry import LOSSES

Tensor = torch.Tensor


@dataclass(frozen=True)
class AdversarialLoss:
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor, Tensor], Tensor]
    g_uses_real: bool = False


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


@LOSSES.register("non_saturating")
def non_saturating() -> AdversarialLoss:
    """BCE with logits; D: real→1, fake→0; G: fake→1 (Goodfellow et al., the practical form)."""
    return AdversarialLoss(
        d=lambda real, fake: _bce(real, 1.0) + _bce(fake, 0.0),
        g=lambda fake, real=None: _bce(fake, 1.0),
    )


@LOSSES.register("minimax")
def minimax() -> AdversarialLoss:
    """The original saturating game: G minimises log(1 − D(G(z)))."""
    return AdversarialLoss(
        d=lambda real, fake: _bce(real, 1.0) + _bce(fake, 0.0),
        g=lambda fake, real=None: -_bce(fake, 0.0),
    )


@LOSSES.register("hinge")
def hinge() -> AdversarialLoss:
    """Hinge loss (Lim & Ye; SNGAN): D: relu(1 − real) + relu(1 + fake); G: −fake."""
    return AdversarialLoss(
        d=lambda real, fake: F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(),
        g=lambda fake, real=None: -fake.mean(),
    )


@LOSSES.register("wasserstein")
def wasserstein() -> AdversarialLoss:
    """Wasserstein critic loss: D: fake − real; G: −fake (pair with wgan_gp or weight_clip)."""
    return AdversarialLoss(
        d=lambda real, fake: fake.mean() - real.mean(),
        g=lambda fake, real=None: -fake.mean(),
    )


@LOSSES.register("least_squares")
def least_squares(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> AdversarialLoss:
    """LSGAN: D: ½(real − b)² + ½(fake − a)²; G: ½(fake − c)²."""
    return AdversarialLoss(
        d=lambda real, fake: 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean(),
        g=lambda fake, real=None: 0.5 * ((fake - c) ** 2).mean(),
    )


@LOSSES.register("relativistic_average")
def relativistic_average() -> AdversarialLoss:
    """RaGAN (Jolicoeur-Martineau): each side judges real against the mean fake and back."""

    def d(real, fake):
        return _bce(real - fake.mean(), 1.0) + _bce(fake - real.mean(), 0.0)

    def g(fake, real):
        real = real.detach()
        return _bce(fake - real.mean(), 1.0) + _bce(real - fake.mean(), 0.0)

    return AdversarialLoss(d=d, g=g, g_uses_real=True)


@LOSSES.register("relativistic_pair")
def relativistic_pair() -> AdversarialLoss:
    """RpGAN (Huang et al. 2024, R3GAN): D: softplus(−(D(x_r) − D(x_f))), G: softplus(−(D(x_f) − D(x_r))), paired per image."""

    def d(real, fake):
        return F.softplus(fake - real).mean()

    def g(fake, real):
        return F.softplus(real.detach() - fake).mean()

    return AdversarialLoss(d=d, g=g, g_uses_real=True)
