"""Schedules for any number: recipe values that change over training.

A recipe's ``schedules`` maps a recipe key to a schedule node::

    schedules:
      optim.g.lr:         {name: cosine, end: 5.0e-5, kimg: 200}
      optim.d.betas[1]:   {name: linear, start: 0.9, end: 0.99, kimg: 200}
      penalties[0].gamma: {name: cosine, end: 0.01}
      ema.half_life_kimg: {name: linear, start: 0, end: 10, kimg: 100}
      augment.p:          {name: constant, start: 0.2, warmup: 1000}

(on the command line: ``'schedules[optim.g.lr].end=1e-5'``). A node names a ``SCHEDULES`` entry
(the shape: ``constant``, ``linear``, ``cosine``, ``exponential`` or a plugin's) and takes

* ``start``: the value at the start (default: the value the recipe gives the key),
* ``end``: the value at the end of the schedule (default: ``start``),
* ``steps: N`` or ``kimg: K``: its length in training steps or thousands of images seen
  (default: the whole run, in steps); after it the value stays at ``end``,
* ``warmup: W`` (in the same unit, inside the length): the value first rises linearly from 0
  to ``start`` over W, then the shape runs from ``start`` to ``end`` over the rest.

A ``SCHEDULES`` entry (built-ins in ``training/optim.py``) is a factory ``(start, end, **its own args) -> f(t)`` with t ∈ [0, 1].
What a node may hold, and which keys may follow a schedule, is checked before anything is built
(``gankit.config.schedule_spec``).
Every value is a pure function of the step, set before each step: resuming at a step sets the
same values an uninterrupted run had there (nothing to save beyond the step).

Schedulable keys: ``optim.<g|d>.lr``, ``.weight_decay``, ``.betas[0|1]``, ``.args.<name>`` (each
parameter group of that optimizer); ``penalties[i].<arg>``, ``augment.<arg>``, ``loss.<arg>``
(the built component's attribute of that name); ``ema.half_life_kimg`` and ``ema.decay``.
"""
from dataclasses import dataclass
from typing import Callable

from gankit.config.registry import SCHEDULES
from gankit.config.schedule_spec import COMPONENT_KEY, EMA_KEY, OPTIM_KEY, SCHEDULABLE
from gankit.errors import GankitError


# -- one schedule ------------------------------------------------------------------------
@dataclass
class Schedule:
    """The value of one key at each step."""

    key: str
    shape: Callable[[float], float]
    start: float
    length: float  # in `unit`s
    warmup: float
    unit: str  # "steps" | "kimg"
    images_per_step: int

    def at(self, step: int) -> float:
        x = step if self.unit == "steps" else step * self.images_per_step / 1000.0
        if x < self.warmup:
            return self.start * x / self.warmup
        span = self.length - self.warmup
        return float(self.shape(min(1.0, (x - self.warmup) / span) if span > 0 else 1.0))


def build_schedule(key: str, node: dict, start: float, total_steps: int, images_per_step: int) -> Schedule:
    """``schedules[key]`` as a ``Schedule``; ``start`` is the key's own value, used when the node has none."""
    where = f"schedules[{key}]"
    start = float(node.get("start", start))
    end = float(node.get("end", start))
    shape = SCHEDULES.build({"name": node["name"]}, f"{where}.name", {"start": start, "end": end})
    unit = "kimg" if "kimg" in node else "steps"
    length = float(node.get(unit, total_steps))
    return Schedule(key, shape, start, length, float(node.get("warmup") or 0), unit, images_per_step)


# -- what a key sets -----------------------------------------------------------------------
class Target:
    """Reads and sets the live value a schedulable key names."""

    def __init__(self, get: Callable[[], float], set_: Callable[[float], None]):
        self.get, self.set = get, set_


def _group_target(opt, field: str, index: int | None) -> Target:
    def get():
        v = opt.param_groups[0][field]
        return v[index] if index is not None else v

    def set_(value):
        for group in opt.param_groups:
            if index is None:
                group[field] = value
            else:
                old = list(group[field])
                old[index] = value
                group[field] = tuple(old)

    return Target(get, set_)


def _attr_target(obj, attr: str, key: str, what: str, part: bool = True) -> Target:
    """The number ``attr`` of ``obj``; a part (penalty, augment: ``gankit.config.contracts.Part``)
    declares the ones it sets itself (``adapted``), which a schedule may not set too."""
    if obj is None:
        raise GankitError(f"schedules[{key}]: the recipe has no {what}; remove the schedule or add the {what}.")
    fix = obj.adapted.get(attr) if part else None  # a value the component sets itself (ADA's p)
    if fix:
        raise GankitError(f"schedules[{key}]: the {what} ({type(obj).__name__}) adapts '{attr}' itself; {fix} "
                          f"to give {attr} a schedule instead.")
    value = getattr(obj, attr, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GankitError(f"schedules[{key}]: the {what} ({type(obj).__name__}) has no number '{attr}' to schedule"
                          f" (found {value!r}). Schedule one of its numeric arguments kept as an attribute of that name.")
    return Target(lambda: getattr(obj, attr), lambda v: setattr(obj, attr, v))


def resolve(key: str, optimizers: dict, components: dict, ema) -> Target:
    """The ``Target`` of a schedulable key, given the run's optimizers ({"g", "d"}), components
    ({"penalties": [...], "augment": obj, "loss": obj}) and EMA (or None)."""
    if m := OPTIM_KEY.match(key):
        net, field, beta, arg = m.groups()
        opt = optimizers[net]
        if field.startswith("betas"):
            if "betas" not in opt.param_groups[0]:
                raise GankitError(f"schedules[{key}]: optimizer {type(opt).__name__} has no betas.")
            return _group_target(opt, "betas", int(beta))
        name = arg or field
        if name not in opt.param_groups[0]:
            raise GankitError(f"schedules[{key}]: optimizer {type(opt).__name__} has no setting '{name}'; "
                              f"it has {', '.join(k for k in opt.param_groups[0] if k != 'params')}.")
        return _group_target(opt, name, None)
    if m := COMPONENT_KEY.match(key):
        root, index, attr = m.groups()
        if index is not None:
            pens = components.get("penalties", [])
            obj = pens[int(index)] if int(index) < len(pens) else None
            return _attr_target(obj, attr, key, f"penalty {index}")
        return _attr_target(components.get(root), attr, key, root, part=root == "augment")
    if m := EMA_KEY.match(key):
        return _attr_target(ema, m.group(1), key, "EMA (set ema.enabled=true)", part=False)
    raise GankitError(f"schedules[{key}]: '{key}' cannot follow a schedule. Schedulable keys: {SCHEDULABLE}.")


class Schedules:
    """Every schedule of a run; ``apply(step)`` sets each key's value for that step and returns them."""

    def __init__(self, nodes: dict, targets: dict[str, Target], total_steps: int, images_per_step: int):
        self.targets = targets
        self.items = [build_schedule(k, dict(node), targets[k].get(), total_steps, images_per_step)
                      for k, node in nodes.items()]

    def apply(self, step: int) -> dict[str, float]:
        values = {}
        for s in self.items:
            values[s.key] = s.at(step)
            self.targets[s.key].set(values[s.key])
        return values
