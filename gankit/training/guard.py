"""The one non-finite rule, ``trainer.on_nonfinite``: ``stop`` or ``skip``.

* stop: a non-finite loss is counted on the device (no host sync per step) and reported at the
  next sync point (log, evaluation, checkpoint, stop), naming the last step checked and the last
  good checkpoint; nothing is saved with such weights.
* skip: an update whose gradients are non-finite is dropped (the optimizer leaves the weights
  alone; fp16's grad scaler does this itself), the step is not counted, and MAX_SKIPS_IN_ROW
  skipped steps in a row stop the run.
Either way a checkpoint never holds non-finite weights (``weights``).

Under fp16 (a grad scaler) an update whose scaled gradients overflowed (inf/NaN, a non-finite
penalty included) is skipped by the scaler, which lowers its scale. Whatever ``on_nonfinite`` says,
such a step is not counted (``skipped`` + 1, the loss not checked): it is the scaler's normal way of
finding its scale, not divergence; MAX_SKIPS_IN_ROW in a row still stop the run.
"""
from pathlib import Path
from typing import Callable, Optional

import torch

from gankit.errors import GankitError
from gankit.training.accel import loss_scale

MAX_SKIPS_IN_ROW = 50  # on_nonfinite: skip stops a run whose loss stays non-finite


def nonfinite(named_tensors) -> list[str]:
    """Names of the tensors holding NaN or ±inf (one fused check, one host sync)."""
    named = [(n, t) for n, t in named_tensors if t.is_floating_point()]
    if not named:
        return []
    flags = torch.stack([torch.isfinite(t).all() for _, t in named])
    if bool(flags.all()):
        return []
    return [n for (n, _), ok in zip(named, flags.tolist()) if not ok]


class NonFiniteGuard:
    def __init__(self, mode: str, acc, last_checkpoint: Callable[[], Optional[Path]]):
        self.skip, self.acc, self.last_checkpoint = mode == "skip", acc, last_checkpoint
        self.bad = torch.zeros((), device=acc.device)
        self.good_step = 0  # the last step whose losses and weights were checked finite
        self.skips_in_row = 0
        self.overflows = torch.zeros((), dtype=torch.int64, device=acc.device)  # fp16: updates the scaler skipped

    @torch.no_grad()
    def grads(self, net: torch.nn.Module) -> None:
        """Before an optimizer step: in skip mode, non-finite gradients become None (no update)."""
        if not self.skip or self.acc.scaler is not None:
            return
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
            for p in net.parameters():
                p.grad = None

    def step(self, opt) -> None:
        """``opt.step()``; under fp16, noting on the device whether the scaler skipped the update: it lowers
        its scale then and only then. (accelerate's ``step_was_skipped`` cannot tell: a fused optimizer,
        gankit's Adam, takes the overflow flag into its own kernel, so its step is always called.)"""
        if self.acc.scaler is None:
            opt.step()
            return
        before = loss_scale(self.acc)
        opt.step()
        self.overflows += loss_scale(self.acc) < before

    def counts(self, stats: dict, state) -> bool:
        """Whether this step's numbers let it count (skip mode: a host sync per step)."""
        if self.acc.scaler is not None:  # fp16: one host sync a step
            overflowed = bool(self.overflows)
            self.overflows.zero_()
            if overflowed:  # the same on every process: DDP averaged the gradients the scaler checked
                return self._skipped(state)
        finite = torch.isfinite(torch.stack(list(stats.values()))).all()
        if not self.skip:
            self.bad += ~finite
            self.skips_in_row = 0
            return True
        if self._all_ranks(finite):
            self.skips_in_row = 0
            return True
        return self._skipped(state)

    def _skipped(self, state) -> bool:
        state.skipped += 1
        self.skips_in_row += 1
        if self.skips_in_row >= MAX_SKIPS_IN_ROW:
            raise GankitError(
                f"trainer.on_nonfinite: {self.skips_in_row} iterations in a row had a non-finite loss (or, "
                f"under fp16, gradients that overflowed at every scale) and were skipped (at step {state.step}; "
                f"{state.skipped} skipped in all), so skipping will not recover. Lower optim.*.lr or fix the "
                f"loss; the last good checkpoint is {self.last_checkpoint() or '(none yet)'}.")
        return False

    def verify(self, step: int) -> None:
        """At a sync point: raise if a non-finite loss appeared since the last check."""
        if self._all_ranks(self.bad == 0):
            self.good_step = step
            return
        raise GankitError(
            f"training diverged: a non-finite D or G loss appeared by step {step} (after "
            f"step {self.good_step}, the last one checked). "
            f"No checkpoint was written with these weights; the last good one is "
            f"{self.last_checkpoint() or '(none yet)'}. Lower optim.*.lr, add a penalty, or set trainer.on_nonfinite=skip.")

    def weights(self, nets: dict, step: int) -> None:
        """Before a checkpoint: every network's weights are finite (a huge lr can blow them up while the losses look fine)."""
        for who, net in nets.items():
            bad = nonfinite(net.state_dict().items())
            if bad:
                raise GankitError(
                    f"training diverged: the {who} has non-finite weights at step {step} "
                    f"({', '.join(bad[:3])}{' …' if len(bad) > 3 else ''}). No checkpoint was written with them; "
                    f"the last good one is {self.last_checkpoint() or '(none yet)'}. Lower optim.*.lr, "
                    f"add a penalty or set optim.*.grad_clip.")
        self.good_step = step

    def _all_ranks(self, ok: torch.Tensor) -> bool:
        """True when ``ok`` holds on every process (all take the same branch, or DDP would hang)."""
        return not self.acc.reduce((~ok).float(), reduction="sum").item()
