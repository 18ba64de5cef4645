"""Learning-rate schedules: a factor of the base lr as a function of (step, total steps)."""
import math

SCHEDULES = {
    "constant": lambda step, total: 1.0,
    "linear_decay": lambda step, total: max(0.0, 1.0 - step / max(total, 1)),
    "cosine": lambda step, total: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1))),
}


def lr_factor(name: str, step: int, total: int) -> float:
    return SCHEDULES[name](step, total)
