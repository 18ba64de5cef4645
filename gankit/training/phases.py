"""The training step as data: a list of phases, and the one function that runs any of them.

A **phase** names the network it updates, its optimizer, its loss **terms**, how many updates it
makes per step (``rounds``) and which network it holds frozen. ``run_phase`` runs every phase the
same way: for each round, over the step's micro-batches (gradient accumulation) in ``accumulate``
blocks, it has D judge the phase's views in ONE forward, adds up the due terms, backpropagates,
and on the last micro-batch clips, applies the non-finite rule and steps. A term is due on steps
divisible by its ``interval`` and is then scaled by it (lazy regularisation). Nothing here knows
which GAN method it runs: adversarial losses, penalties and auxiliary losses are all terms.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import nn
from torch.profiler import record_function

from gankit.models.base import Verdict, as_verdict

Tensor = torch.Tensor


@dataclass
class View:
    """Images (and their labels) that D judges in a phase's one forward, under a name terms read."""

    name: str
    x: Tensor
    y: Optional[Tensor] = None


class Draw:
    """One micro-batch's real images and latents; its fake images made once when two phases share them."""

    def __init__(self, G: nn.Module, real: Tensor, y_real, z: Tensor, y_fake, keep: bool, step: int):
        self.G, self.real, self.y_real, self.z, self.y_fake = G, real, y_real, z, y_fake
        self.keep, self.step, self._fake = keep, step, None

    def fake(self, grad: bool) -> Tensor:
        """G(z, y); ``grad=False`` gives it detached. A kept draw runs G once, with its graph."""
        if self._fake is not None:
            return self._fake if grad else self._fake.detach()
        if grad or self.keep:
            out = self.G(self.z, self.y_fake)
            if self.keep:
                self._fake = out
            return out if grad else out.detach()
        with torch.no_grad():
            return self.G(self.z, self.y_fake)


@dataclass
class Term:
    """One summand of a phase's loss, ``interval × loss(judged, views, draw)`` on the steps it is due.

    ``judged`` and ``views`` map view names to D's verdicts and to the views; a loss that returns
    None only watches (adaptive augmentation reading D's verdict on real images). ``inputs(draw)`` may
    add a view of its own to D's forward (a penalty's images; None: no term this time);
    ``after_step`` runs after each optimizer step of the phase, on the unwrapped network.
    """

    name: str
    loss: Optional[Callable[[dict, dict, Draw], Tensor]]
    interval: int = 1
    inputs: Optional[Callable[[Draw], Optional[View]]] = None
    after_step: Optional[Callable[[nn.Module], None]] = None

    def due(self, step: int) -> bool:
        return step % self.interval == 0


@dataclass
class Phase:
    name: str  # "D", "G": the profiler's label and the prefix of the logged numbers
    net: nn.Module  # the prepared network this phase updates
    opt: torch.optim.Optimizer
    terms: list[Term]
    views: Callable[[Draw], list[View]]  # what D judges for the terms
    source: Callable[[int, int], tuple[int, tuple]]  # (first batch of the step, round) → (data batch, noise key)
    judge: nn.Module  # the prepared D
    rounds: int = 1
    frozen: Optional[nn.Module] = None  # held without gradients during the phase (D in G's phase)
    grad_clip: Optional[float] = None
    augment: Optional[Callable[[Tensor], Tensor]] = None
    watch: tuple[str, ...] = ()  # views whose mean logit is logged as <name>_<view>
    unwrapped: Optional[nn.Module] = field(default=None, repr=False)

    def due(self, step: int) -> bool:
        return any(t.due(step) for t in self.terms)


def judge(D: nn.Module, views: list[View], augment=None) -> dict[str, Verdict]:
    """D's verdict on every view from ONE forward (DDP-safe). The augmentation sees everything D
    sees, all views in one call: real, fake and a penalty's images (its gradient flows through
    the augmentation to the images, as in StyleGAN2-ADA and R3GAN)."""
    x = _cat([v.x for v in views])
    if augment is not None:
        x = augment(x)
    ys = [v.y for v in views]
    y = torch.cat(ys) if all(t is not None for t in ys) else None
    out = as_verdict(D(x, y))
    sizes = [v.x.shape[0] for v in views]
    logits = out.logits.float().split(sizes)
    classes = out.classes.split(sizes) if out.classes is not None else [None] * len(sizes)
    return {v.name: Verdict(lg, c) for v, lg, c in zip(views, logits, classes)}


def _cat(xs: list[Tensor]) -> Tensor:
    return xs[0] if len(xs) == 1 else torch.cat(xs)


def phase_loss(ph: Phase, terms: list[Term], draw: Draw) -> tuple[Tensor, dict[str, Verdict]]:
    views = ph.views(draw)
    extra = {t.name: t.inputs(draw) for t in terms if t.inputs is not None}
    views += [v for v in extra.values() if v is not None]
    judged = judge(ph.judge, views, ph.augment)
    by_name = {v.name: v for v in views}
    values = [(t.loss(judged, by_name, draw), t.interval) for t in terms
              if t.loss is not None and (t.inputs is None or extra[t.name] is not None)]
    parts = [_scaled(v, k) for v, k in values if v is not None]  # a watching term returns None
    return sum(parts[1:], parts[0]), judged


def _scaled(value: Tensor, interval: int) -> Tensor:
    return value * interval if interval != 1 else value


def clip(net: nn.Module, opt, max_norm: Optional[float], acc) -> None:
    """Clip this network's accumulated gradient norm (fp16: unscaling this optimizer only)."""
    if max_norm:
        acc.unscale_gradients(optimizer=opt)
        torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm)


def run_phase(ph: Phase, step: int, draw_for: Callable[[Phase, int, int], Draw], acc, nets, guard) -> dict:
    """Run one phase: ``rounds`` updates, each over every micro-batch; returns its numbers (device tensors)."""
    terms = [t for t in ph.terms if t.due(step)]
    micro = acc.gradient_accumulation_steps
    key = ph.name.lower()
    if ph.frozen is not None:
        ph.frozen.requires_grad_(False)
    try:
        for r in range(ph.rounds):
            losses, watched = [], {v: [] for v in ph.watch}
            for m in range(micro):
                with acc.accumulate(*nets), record_function(f"phase:{ph.name}"):
                    loss, judged = phase_loss(ph, terms, draw_for(ph, r, m))
                    acc.backward(loss)
                    if acc.sync_gradients:
                        clip(ph.net, ph.opt, ph.grad_clip, acc)
                        guard.grads(ph.net)
                    guard.step(ph.opt)  # ph.opt.step(), noting an update fp16's scaler skips
                    ph.opt.zero_grad(set_to_none=True)
                    if acc.sync_gradients:
                        for t in terms:
                            if t.after_step is not None:
                                t.after_step(ph.unwrapped)
                losses.append(loss.detach())
                for v in ph.watch:
                    watched[v].append(judged[v].logits.detach().mean())
    finally:
        if ph.frozen is not None:
            ph.frozen.requires_grad_(True)
    stats = {f"{key}_loss": _mean(losses)}
    stats.update({f"{key}_{v}": _mean(vals) for v, vals in watched.items()})
    return stats


def _mean(values: list[Tensor]) -> Tensor:
    """The mean over micro-batches (no op for one)."""
    return values[0] if len(values) == 1 else torch.stack(values).mean()


class Draws:
    """The draws of one step, made on first use: real batch ``index``'s share and the latents of a noise key.

    A draw read by more than one phase keeps its fake images' graph (one G forward serves D's
    and G's update) when a step is one micro-batch; with accumulation G runs again instead of
    holding every micro-batch's graph.
    """

    def __init__(self, phases: list[Phase], G, stream, noise, first_batch: int, step: int, labels: bool):
        self.G, self.stream, self.noise, self.b0, self.step, self.labels = G, stream, noise, first_batch, step, labels
        self.micro = stream.micro
        users: dict = {}
        for ph in phases:
            for r in range(ph.rounds):
                users.setdefault(ph.source(first_batch, r), set()).add(ph.name)
        self.shared = {k for k, names in users.items() if len(names) > 1} if self.micro == 1 else set()
        self.cache: dict = {}

    def __call__(self, ph: Phase, r: int, m: int) -> Draw:
        index, key = src = ph.source(self.b0, r)
        if (src, m) not in self.cache:
            with record_function("data"):
                real, y_real = self.stream.batch(index, m)
                z, y_fake = self.noise(*key, micro=m)
            self.cache[src, m] = Draw(self.G, real, y_real if self.labels else None, z, y_fake,
                                      src in self.shared, self.step)
        return self.cache[src, m]
