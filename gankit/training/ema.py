"""Exponential moving average of the generator's weights, as the strongest baselines keep it.

After each step ``shadow ← β·shadow + (1 − β)·G``. β comes from a half-life in images
(StyleGAN2-ADA, R3GAN): ``β = 0.5 ** (images_per_step / half_life)`` with
``half_life = half_life_kimg·1000``, ramped up as ``min(half_life, rampup · images_seen)`` so the
average forgets the random initial weights (at step 0 the shadow is a copy of G). A fixed
``decay`` replaces the half-life when given. Before ``start`` the shadow copies G.

Buffers are copied from G, except BatchNorm's running statistics: those of G belong to G's
weights, not to the averaged ones. ``model()`` recomputes them for the averaged weights on a few
fixed batches of latents (``refresh``) whenever the weights changed since the last time, so
sampling, evaluation and checkpoints always see statistics that match the weights.
"""
import copy

import torch
from torch import nn

_BN = nn.modules.batchnorm._BatchNorm


def decay_for(images_per_step: int, half_life_kimg: float, images_seen: int, rampup: float | None) -> float:
    """The per-step β of a half-life in thousands of images, with the ramp-up."""
    half_life = half_life_kimg * 1000.0
    if rampup is not None:
        half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (images_per_step / half_life) if half_life > 0 else 0.0


class EMA:
    """The averaged generator; ``update`` after each step, ``model()`` to use it."""

    def __init__(self, model: nn.Module, images_per_step: int, half_life_kimg: float = 10.0,
                 rampup: float | None = 0.05, decay: float | None = None, start: int = 0, latents=None,
                 bn_batches: int = 8):
        self.images_per_step, self.half_life_kimg, self.rampup = images_per_step, half_life_kimg, rampup
        self.decay, self.start = decay, start
        self.latents, self.bn_batches = latents, bn_batches  # latents(i) -> (z, y) of refresh batch i
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)
        self.bn = [m for m in self.shadow.modules() if isinstance(m, _BN) and m.track_running_stats]
        self._bn_buffers = {f"{name}.{b}" for name, m in self.shadow.named_modules()
                            if isinstance(m, _BN) and m.track_running_stats
                            for b in ("running_mean", "running_var", "num_batches_tracked")}
        self.stale = bool(self.bn)

    def beta(self, step: int) -> float:
        """β of the update after step ``step`` (0 before ``start``: a copy)."""
        if step < self.start:
            return 0.0
        if self.decay is not None:
            return self.decay
        return decay_for(self.images_per_step, self.half_life_kimg, step * self.images_per_step, self.rampup)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        beta = self.beta(step)
        src = dict(model.named_parameters())
        for name, p in self.shadow.named_parameters():
            p.lerp_(src[name].detach().to(p.dtype), 1.0 - beta)
        src_b = dict(model.named_buffers())
        for name, b in self.shadow.named_buffers():
            if name not in self._bn_buffers:
                b.copy_(src_b[name])
        self.stale = bool(self.bn)

    def model(self) -> nn.Module:
        """The averaged G in eval mode, its BatchNorm statistics matching its weights."""
        if self.stale:
            self.refresh()
        return self.shadow

    @torch.no_grad()
    def refresh(self) -> None:
        """Recompute the BatchNorm running statistics of the averaged weights: the plain average
        over ``bn_batches`` fixed batches of latents, with the global RNG left untouched."""
        if self.bn and self.latents is None:
            raise RuntimeError("EMA.refresh needs latents(i) to recompute BatchNorm statistics")
        momenta = [m.momentum for m in self.bn]
        for m in self.bn:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        devices = [p.device for p in self.shadow.parameters() if p.device.type == "cuda"][:1]
        try:
            with torch.random.fork_rng(devices=devices):
                self.shadow.train()
                for i in range(self.bn_batches):
                    self.shadow(*self.latents(i))
        finally:
            self.shadow.eval()
            for m, mom in zip(self.bn, momenta):
                m.momentum = mom
        self.stale = False

    def state_dict(self) -> dict:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.shadow.load_state_dict(state)
        self.stale = False  # the statistics were saved with the weights they belong to
