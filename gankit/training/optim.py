"""Optimizers and learning-rate schedules: the built-in ``OPTIMIZERS`` and ``SCHEDULES`` entries.

An optimizer entry is a factory ``(params, lr, betas, weight_decay, device, **its own args)``;
each of those it accepts is filled from ``optim.<net>`` (and ``optim.<net>.args`` for the rest).
A schedule entry is a factory ``(total_steps, ...)`` returning ``factor(step)``: the share of
the base lr at a step (stepped once per training step).
"""
import math
from typing import Callable

import torch
from omegaconf import DictConfig

from gankit.config.registry import OPTIMIZERS, SCHEDULES
from gankit.config.validate import OPTIMIZER_CONTEXT, SCHEDULE_CONTEXT, plain

Factor = Callable[[int], float]


# -- optimizers -------------------------------------------------------------------------
def _adam_like(cls, params, lr, betas, weight_decay, device, amsgrad):
    fused = _is_cuda(device)  # the fused kernel on CUDA, foreach on a CPU
    return cls(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay, amsgrad=amsgrad,
               foreach=None if fused else True, fused=fused or None)


@OPTIMIZERS.register("adam")
def adam(params, lr: float = 2e-4, betas: tuple = (0.5, 0.999), weight_decay: float = 0.0, device=None,
         amsgrad: bool = False):
    """Adam (Kingma & Ba 2015); the fused kernel on CUDA, foreach on a CPU."""
    return _adam_like(torch.optim.Adam, params, lr, betas, weight_decay, device, amsgrad)


@OPTIMIZERS.register("adamw")
def adamw(params, lr: float = 2e-4, betas: tuple = (0.5, 0.999), weight_decay: float = 0.0, device=None,
          amsgrad: bool = False):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""
    return _adam_like(torch.optim.AdamW, params, lr, betas, weight_decay, device, amsgrad)


@OPTIMIZERS.register("sgd")
def sgd(params, lr: float = 2e-4, weight_decay: float = 0.0, momentum: float = 0.0, dampening: float = 0.0,
        nesterov: bool = False):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=dampening,
                           nesterov=nesterov, foreach=True)


def _is_cuda(device) -> bool:
    return device is not None and torch.device(device).type == "cuda"


def build_optimizer(model: torch.nn.Module, ocfg, device) -> torch.optim.Optimizer:
    """The optimizer ``optim.<net>`` names, over the model's parameters."""
    key = _key_of(ocfg)
    given = {"params": model.parameters(), "lr": ocfg.lr, "betas": tuple(ocfg.betas),
             "weight_decay": ocfg.weight_decay, "device": device}
    context = {k: given[k] for k in OPTIMIZER_CONTEXT}
    node = {"name": ocfg.name, **(plain(ocfg.args) or {})}
    return OPTIMIZERS.build(node, key, context, args_key=f"{key}.args")


# -- lr schedules -----------------------------------------------------------------------
@SCHEDULES.register("constant")
def constant(total_steps: int) -> Factor:
    """The base lr throughout."""
    return lambda step: 1.0


@SCHEDULES.register("linear_decay")
def linear_decay(total_steps: int) -> Factor:
    """Linearly from the base lr at step 0 down to 0 at the last step."""
    return lambda step: max(0.0, 1.0 - step / max(total_steps, 1))


@SCHEDULES.register("cosine")
def cosine(total_steps: int) -> Factor:
    """Half a cosine from the base lr at step 0 down to 0 at the last step."""
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def schedule_factor(name: str, total_steps: int, key: str = "schedule") -> Factor:
    """``factor(step)`` of the schedule ``name`` over a run of ``total_steps``."""
    return SCHEDULES.build({"name": name}, key, dict(zip(SCHEDULE_CONTEXT, [total_steps])))


def lr_factor(name: str, step: int, total: int) -> float:
    """The share of the base lr that schedule ``name`` gives at ``step`` of ``total``."""
    return schedule_factor(name, total)(step)


def build_schedule(opt: torch.optim.Optimizer, ocfg, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The lr schedule ``optim.<net>.schedule`` names, for ``opt`` over ``total_steps`` steps."""
    return torch.optim.lr_scheduler.LambdaLR(opt, schedule_factor(ocfg.schedule, total_steps,
                                                                  f"{_key_of(ocfg)}.schedule"))


def _key_of(ocfg) -> str:
    """``optim.g`` / ``optim.d`` for a node of a loaded recipe, else ``optim``."""
    key = ocfg._key() if isinstance(ocfg, DictConfig) else None  # noqa: SLF001 - OmegaConf's node name
    return f"optim.{key}" if key in ("g", "d") else "optim"
