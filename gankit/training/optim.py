"""Optimizers and schedule shapes: the built-in ``OPTIMIZERS`` and ``SCHEDULES`` entries.

An optimizer entry is a factory ``(params, lr, betas, weight_decay, device, **its own args)``;
each of those it accepts is filled from ``optim.<net>`` (and ``optim.<net>.args`` for the rest).
A schedule entry is a factory ``(start, end, **its own args)`` returning ``f(t)``, the value at
the share t ∈ [0, 1] of the schedule; ``training/schedules.py`` applies them to any number.
"""
import math
from typing import Callable

import torch
from omegaconf import DictConfig

from gankit.config.registry import OPTIMIZERS, SCHEDULES
from gankit.config.validate import OPTIMIZER_CONTEXT, plain
from gankit.errors import GankitError


# -- optimizers -------------------------------------------------------------------------
def _adam_like(cls, params, lr, betas, weight_decay, amsgrad, eps):
    # The fused kernel on CUDA and on a CPU: 3× faster than foreach on a CPU (benchmarks/optimizer_step.py).
    return cls(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay, amsgrad=amsgrad, eps=eps, fused=True)


@OPTIMIZERS.register("adam")
def adam(params, lr: float = 2e-4, betas: tuple = (0.5, 0.999), weight_decay: float = 0.0,
         amsgrad: bool = False, eps: float = 1e-8):
    """Adam (Kingma & Ba 2015), its fused kernel."""
    return _adam_like(torch.optim.Adam, params, lr, betas, weight_decay, amsgrad, eps)


@OPTIMIZERS.register("adamw")
def adamw(params, lr: float = 2e-4, betas: tuple = (0.5, 0.999), weight_decay: float = 0.0,
          amsgrad: bool = False, eps: float = 1e-8):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""
    return _adam_like(torch.optim.AdamW, params, lr, betas, weight_decay, amsgrad, eps)


@OPTIMIZERS.register("sgd")
def sgd(params, lr: float = 2e-4, weight_decay: float = 0.0, momentum: float = 0.0, dampening: float = 0.0,
        nesterov: bool = False):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=dampening,
                           nesterov=nesterov, foreach=True)


def build_optimizer(model: torch.nn.Module, ocfg, device) -> torch.optim.Optimizer:
    """The optimizer ``optim.<net>`` names, over the model's parameters."""
    key = _key_of(ocfg)
    given = {"params": model.parameters(), "lr": ocfg.lr, "betas": tuple(ocfg.betas),
             "weight_decay": ocfg.weight_decay, "device": device}
    context = {k: given[k] for k in OPTIMIZER_CONTEXT}
    node = {"name": ocfg.name, **(plain(ocfg.args) or {})}
    return OPTIMIZERS.build(node, key, context, args_key=f"{key}.args")


# -- schedule shapes (training/schedules.py runs them) ----------------------------------
@SCHEDULES.register("constant")
def constant(start: float, end: float) -> Callable[[float], float]:
    """``start`` throughout (``end`` is ignored)."""
    return lambda t: start


@SCHEDULES.register("linear")
def linear(start: float, end: float) -> Callable[[float], float]:
    """A straight line from ``start`` to ``end``."""
    return lambda t: start + (end - start) * t


@SCHEDULES.register("cosine")
def cosine(start: float, end: float) -> Callable[[float], float]:
    """Half a cosine from ``start`` to ``end`` (flat at both ends)."""
    return lambda t: end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * t))


@SCHEDULES.register("exponential")
def exponential(start: float, end: float) -> Callable[[float], float]:
    """Geometric from ``start`` to ``end`` (a straight line in log space; both > 0)."""
    if start <= 0 or end <= 0:
        raise GankitError(f"an exponential schedule needs start and end > 0, got start={start}, end={end}. "
                          "Use name: linear or cosine for values that reach 0.")
    return lambda t: start * (end / start) ** t


def _key_of(ocfg) -> str:
    """``optim.g`` / ``optim.d`` for a node of a loaded recipe, else ``optim``."""
    key = ocfg._key() if isinstance(ocfg, DictConfig) else None  # noqa: SLF001 - OmegaConf's node name
    return f"optim.{key}" if key in ("g", "d") else "optim"
