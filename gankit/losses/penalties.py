"""Discriminator regularisers: R1, R2, WGAN-GP, weight clipping (G's path length: ``path_length.py``).

A penalty is a ``Penalty`` (its contract: ``gankit.losses.base``) and one term of the D phase: its extra images go
through the SAME D forward as real and fake (one forward keeps DDP safe), and its value is added
to D's loss. Any penalty node in a recipe takes ``interval: k`` (lazy regularisation, handled by
the phase, not by the penalty): the term runs on steps divisible by k and is scaled by k.

Mixed precision. The input gradient ∇ₓD(x) comes from ``torch.autograd.grad`` through D's
forward as it ran. Everything after it (norms, squares, means) is computed in fp32 with
autocast off, so the penalty value never rounds to bf16/fp16.

* bf16: D's matmuls/convs ran in bf16, so ∇ₓD carries bf16 rounding (≈3 significant digits) but
  bf16 has fp32's range: no overflow or underflow. The penalty is correct to that precision.
* fp16 (``trainer.precision=fp16``, or D's own fp16 layers: ``num_fp16_res``): PyTorch's AMP recipe
  for gradient penalties. ``autograd.grad`` does not go through the grad scaler, so the penalty
  scales D's logits by the scaler's current scale (``grad_scale``, set by the phase) before
  differentiating and divides ∇ₓD by it in fp32 (``input_grad``): the backward through D's fp16
  ops carries gradients as large as the scaled loss's, and small ones no longer underflow to 0.
  The penalty's own contribution to D's parameter gradients goes through the scaler with the rest
  of D's loss. When the scaled input gradient overflows (inf/NaN), the penalty and D's loss are
  non-finite, so the scaled parameter gradients are too: the scaler skips that update and lowers
  its scale, as for any overflow, and the step is not counted (``gankit.training.guard``).
  Without a scaler (fp32, bf16, or fp16 layers under trainer.precision=no) ``grad_scale`` is None
  and nothing is scaled. Two limits of the recipe: each logit's gradient starts at the scale
  itself, so a scale above fp16's maximum (65504; GradScaler starts at 65536) overflows once and the
  scaler settles below it; and the second backward (the penalty's gradient for D's weights) enters
  at the penalty's own, unscaled size, ∂penalty/∂∇ₓD, before meeting the scaled first-backward
  tensors (tests/losses/test_penalties_fp16.py measures both paths against fp32).
"""
from typing import Optional

import torch

from gankit.config.registry import PENALTIES
from gankit.errors import GankitError
from gankit.losses.base import Penalty

Tensor = torch.Tensor


def input_grad(x: Tensor, logits: Tensor, scale: Optional[Tensor] = None) -> Tensor:
    """∇ₓ Σ logits, kept in the graph (create_graph) so the penalty can be backpropagated; fp32, (N, -1).

    ``scale`` (fp16's loss scale): differentiate scale·Σ logits and divide the gradient by it in fp32,
    so that the backward through fp16 layers does not underflow (PyTorch's AMP gradient-penalty recipe)."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        out = logits.float().sum()
        (g,) = torch.autograd.grad(out if scale is None else out * scale, x, create_graph=True)
        g = g.float()
        return (g if scale is None else g / scale).flatten(1)


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise GankitError(f"penalties: {key}: {message}")


class ZeroCentred(Penalty):
    """γ/2·E‖∇ₓD(x)‖² on the real images (``labels = "real"``: R1) or the generated ones (``"fake"``: R2)."""

    key = "r1"

    def __init__(self, gamma: float = 10.0):
        _check(gamma >= 0, f"{self.key}.gamma", f"must be ≥ 0, got {gamma}.")
        self.gamma = float(gamma)

    def inputs(self, real: Tensor, fake: Tensor, step: int) -> Tensor:
        return (real if self.labels == "real" else fake).detach().float().requires_grad_(True)

    def __call__(self, x: Tensor, logits: Tensor, step: int) -> Tensor:
        g = input_grad(x, logits, self.grad_scale)
        return (self.gamma / 2) * g.pow(2).sum(dim=1).mean()


@PENALTIES.register("r1")
class R1(ZeroCentred):
    """R1 (Mescheder et al. 2018): γ/2·E‖∇ₓD(x)‖² on real images (lazy with `interval`, as any penalty)."""

    key, labels = "r1", "real"


@PENALTIES.register("r2")
class R2(ZeroCentred):
    """R2: γ/2·E‖∇ₓD(x)‖² on generated images (R3GAN, Huang et al. 2024, pairs it with R1)."""

    key, labels = "r2", "fake"


@PENALTIES.register("wgan_gp")
class WGANGP(Penalty):
    """WGAN-GP (Gulrajani et al. 2017): λ·E(‖∇D(x̂)‖ − 1)² on random real/fake interpolates x̂."""

    def __init__(self, weight: float = 10.0, target: float = 1.0, seed: int = 0):
        _check(weight >= 0, "wgan_gp.weight", f"must be ≥ 0, got {weight}.")
        self.weight, self.target, self.seed = float(weight), float(target), int(seed)

    def inputs(self, real: Tensor, fake: Tensor, step: int) -> Tensor:
        # A dedicated generator per step: the interpolation weights depend on (seed, step) only, not on
        # the global RNG or on Python's per-process string hashing (exact resume, same on every launch).
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + step) % (2**62))
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=g).to(real.device)
        return (eps * real.detach().float() + (1 - eps) * fake.detach().float()).requires_grad_(True)

    def __call__(self, x: Tensor, logits: Tensor, step: int) -> Tensor:
        g = input_grad(x, logits, self.grad_scale)
        norm = (g.pow(2).sum(dim=1) + 1e-12).sqrt()  # +tiny: finite derivative at ∇ = 0
        return self.weight * (norm - self.target).pow(2).mean()


@PENALTIES.register("weight_clip")
class WeightClip(Penalty):
    """Original WGAN (Arjovsky et al. 2017): clamp every D parameter to [−clip, clip] after each D step."""

    def __init__(self, clip: float = 0.01):
        _check(clip > 0, "weight_clip.clip", f"must be > 0, got {clip}.")
        self.clip = float(clip)

    @torch.no_grad()
    def after_step(self, D: torch.nn.Module) -> None:
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)
