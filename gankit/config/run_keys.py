"""Run-level keys inside component nodes, split off in this one place.

Two keys of a recipe's component nodes belong to the run, not to the component:

* ``interval`` in each ``penalties[i]`` node: how often the phase that runs the penalty runs it
  (lazy regularisation: on steps divisible by k, scaled by k; ``gankit.training.method``);
* ``holdout`` in the ``data`` node: how many real images the run keeps out of training
  (``gankit.data.holdout``).

``split`` takes both off the plain nodes once, during validation (``gankit.config.validate``),
which hands the result on in its ``ValidRecipe``; building takes the components from there.
"""
from dataclasses import dataclass

from gankit.errors import GankitError


@dataclass(frozen=True)
class PenaltySpec:
    """One ``penalties[i]`` node of a recipe, its ``interval`` split off."""

    index: int
    name: str | None  # the recipe's name of it (a ``PENALTIES`` entry)
    node: dict  # the component node, without ``interval``
    interval: int = 1

    @property
    def key(self) -> str:
        return f"penalties[{self.index}]"


@dataclass(frozen=True)
class RunKeys:
    """The data node without ``holdout``, that count, and the penalties without their ``interval``."""

    data: dict
    holdout: int
    penalties: tuple[PenaltySpec, ...]
    problems: tuple[str, ...] = ()  # a bad value is listed here and dropped (its component is still checked)


def split_interval(node: dict, key: str) -> tuple[dict, int]:
    """A penalty node without its ``interval`` (the phase's business), and that interval (default 1)."""
    node = dict(node)
    interval = node.pop("interval", 1)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise GankitError(f"{key}.interval: must be a whole number ≥ 1 (1 = every step; k = every k-th step, "
                          f"scaled by k), got {interval!r}.")
    return node, interval


def split_holdout(node: dict, key: str = "data") -> tuple[dict, int]:
    """The data node without its ``holdout`` (the run's business, not the dataset's) and that count (default 0)."""
    node = dict(node)
    n = node.pop("holdout", 0)
    n = 0 if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise GankitError(f"{key}.holdout: must be a whole number of images ≥ 0 (0 = hold none out), got {n!r}. "
                          f"Set e.g. {key}.holdout: 2000 to keep 2000 real images out of training.")
    return node, n


def split(data: dict, penalties: list[dict]) -> RunKeys:
    """Both run-level keys split off the plain ``data`` and ``penalties`` nodes; problems listed, not raised."""
    found = []
    try:
        node, holdout = split_holdout(data, "data")
    except GankitError as e:
        found.append(str(e))
        node, holdout = {k: v for k, v in data.items() if k != "holdout"}, 0
    specs = []
    for i, p in enumerate(penalties):
        try:
            pnode, interval = split_interval(p, f"penalties[{i}]")
        except GankitError as e:
            found.append(str(e))
            pnode, interval = {k: v for k, v in p.items() if k != "interval"}, 1
        specs.append(PenaltySpec(i, pnode.get("name"), pnode, interval))
    return RunKeys(node, holdout, tuple(specs), tuple(found))
