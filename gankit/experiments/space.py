"""SPACE.yaml: the search space of a sweep, checked against the recipe it sweeps.

::

    params:                                   # a recipe key (or a name with `keys:`) per entry
      lr: {keys: [optim.g.lr, optim.d.lr], low: 1.0e-4, high: 1.0e-2, log: true}   # one value, two keys
      penalties.0.gamma: [0.1, 1.0, 10.0]     # a list: grid values (categorical for random/tpe)
      loss.name: {choices: [non_saturating, hinge]}
      trainer.batch_size: {int: [32, 128]}    # an integer range ({int: [lo, hi], log: true} too)
    seeds: 3                                  # seeds 0..2 per configuration (or a list: [0, 7, 9])
                                              # (no params and seeds ≥ 2: one configuration over seeds)
    sampler: grid                             # grid | random | tpe
    trials: 12                                # configurations to sample (random, tpe); grid: all of them
    objective: {metric: fd, direction: minimize, take: last}   # take: last | best evaluation of a run
    pruner: median                            # median | halving | none, or {name: median, startup_trials: 2}
    heartbeat: 60                             # seconds; a worker silent for 3 heartbeats has its trial retried
"""
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from gankit.config import validate, yaml_files
from gankit.errors import GankitError, raise_if

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "halving", "none")
DIRECTIONS = ("minimize", "maximize")
TAKES = ("last", "best")
TOP_KEYS = {"params", "seeds", "sampler", "trials", "objective", "pruner", "heartbeat"}


@dataclass
class Param:
    """One searched value: its name in the study, the recipe keys it sets and its range."""

    name: str
    keys: list[str]
    choices: list | None = None  # categorical (grid-able)
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    def distribution(self):
        import optuna.distributions as d

        if self.choices is not None:
            return d.CategoricalDistribution(self.choices)
        if self.integer:
            return d.IntDistribution(int(self.low), int(self.high), log=self.log)
        return d.FloatDistribution(float(self.low), float(self.high), log=self.log)

    def probes(self) -> list:
        """Values that stand for the whole range when the recipe is checked."""
        return list(self.choices) if self.choices is not None else [self.low, self.high]


@dataclass
class Space:
    params: list[Param]
    seeds: list[int]
    sampler: str = "grid"
    trials: int | None = None
    metric: str = "fd"
    direction: str = "minimize"
    take: str = "last"
    pruner: str = "median"
    heartbeat: int = 60
    raw: dict = field(default_factory=dict)  # the file's content (stored in the study)
    startup_trials: int = 2  # completed trials before the median pruner prunes

    def grid(self) -> list[dict]:
        """Every configuration of a grid sweep, in order: {param name: value}."""
        names = [p.name for p in self.params]
        return [dict(zip(names, combo)) for combo in itertools.product(*(p.choices for p in self.params))]

    def assignment(self, values: dict) -> dict:
        """{recipe key: value} of a configuration given as {param name: value}."""
        return {k: values[p.name] for p in self.params for k in p.keys}


def read(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"sweep: space file {path} does not exist. Give a SPACE.yaml (see docs/experiments.md).")
    try:
        raw = yaml_files.read(path, "sweep")  # 1e-4 is a float here (plain yaml reads a string); bounded
    except GankitError:
        raise
    except Exception as e:  # noqa: BLE001 - any parse error is the file's fault
        raise GankitError(f"sweep: {path} is not valid YAML ({str(e).splitlines()[0]}). Fix the file.") from None
    if not isinstance(raw, dict):
        raise GankitError(f"sweep: {path} must hold a mapping with `params:` (see docs/experiments.md).")
    return raw


def parse(raw: dict, where: str = "SPACE.yaml") -> Space:
    """A Space from the file's content; every problem is reported at once, each naming its key."""
    problems = [f"{where}: unknown key '{k}' (known: {', '.join(sorted(TOP_KEYS))})." for k in raw if k not in TOP_KEYS]
    params = []
    entries = raw.get("params") or {}  # none: a seeds-only sweep (one configuration, several seeds)
    if not isinstance(entries, dict):
        problems.append(f"{where}: params: give a mapping of recipe keys to search, e.g. "
                        f"`params: {{optim.g.lr: [1.0e-4, 1.0e-3]}}` (or leave it out to repeat seeds).")
        entries = {}
    for name, spec in entries.items():
        p = _param(str(name), spec, f"{where}: params.{name}", problems)
        if p is not None:
            params.append(p)
    seeds = raw.get("seeds", 1)
    if isinstance(seeds, bool) or not (isinstance(seeds, int) and seeds >= 1 or isinstance(seeds, list) and seeds
                                       and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        problems.append(f"{where}: seeds: give a count (seeds: 3) or a list of integer seeds (seeds: [0, 1, 2]).")
        seeds = 1
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(dict.fromkeys(seeds))
    sampler = _one_of(raw, "sampler", "grid", SAMPLERS, where, problems)
    if not raw.get("params") and (len(seeds) < 2 or sampler != "grid"):
        problems.append(f"{where}: params: give at least one recipe key to search, e.g. "
                        f"`params: {{optim.g.lr: [1.0e-4, 1.0e-3]}}`, or `seeds: N` (N ≥ 2) with the grid "
                        f"sampler to repeat one configuration over seeds.")
    pruner_node = raw.get("pruner", "median")
    pruner_node = pruner_node if isinstance(pruner_node, dict) else {"name": pruner_node}
    pruner = _one_of(pruner_node, "name", "median", PRUNERS, f"{where}: pruner", problems)
    startup = pruner_node.get("startup_trials", 2)
    for k in pruner_node:
        if k not in ("name", "startup_trials"):
            problems.append(f"{where}: pruner.{k}: unknown key (known: name, startup_trials).")
    if isinstance(startup, bool) or not isinstance(startup, int) or startup < 0:
        problems.append(f"{where}: pruner.startup_trials: completed trials before the median pruner prunes "
                        f"(a whole number, default 2).")
        startup = 2
    obj = raw.get("objective", {}) or {}
    if not isinstance(obj, dict):
        problems.append(f"{where}: objective: give a mapping, e.g. {{metric: fd, direction: minimize}}.")
        obj = {}
    for k in obj:
        if k not in ("metric", "direction", "take"):
            problems.append(f"{where}: objective.{k}: unknown key (known: metric, direction, take).")
    metric = obj.get("metric", "fd")
    if not isinstance(metric, str) or not metric:
        problems.append(f"{where}: objective.metric: give the name of an evaluation metric, e.g. fd.")
    direction = _one_of(obj, "direction", "minimize", DIRECTIONS, f"{where}: objective", problems)
    take = _one_of(obj, "take", "last", TAKES, f"{where}: objective", problems)
    trials = raw.get("trials")
    if sampler == "grid":
        if trials is not None:
            problems.append(f"{where}: trials: a grid sweep runs every configuration; remove `trials` "
                            f"or choose sampler: random | tpe.")
        for p in params:
            if p.choices is None:
                problems.append(f"{where}: params.{p.name}: a range cannot be a grid; give a list of values "
                                f"or choose sampler: random | tpe.")
    elif not (isinstance(trials, int) and not isinstance(trials, bool) and trials >= 1):
        problems.append(f"{where}: trials: sampler {sampler} needs the number of configurations to try "
                        f"(trials: 20).")
    heartbeat = raw.get("heartbeat", 60)
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int) or heartbeat < 1:
        problems.append(f"{where}: heartbeat: give whole seconds >= 1 (default 60).")
    keys = [k for p in params for k in p.keys]
    for k in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"{where}: params: recipe key {k} is set by two entries; keep one.")
    if "trainer.seed" in keys:
        problems.append(f"{where}: params.trainer.seed: seeds are not a search key; write `seeds: N` instead.")
    raise_if(problems, f"{where} has {len(problems)} problem(s):" if len(problems) > 1 else "")
    return Space(params, seeds, sampler, trials, metric, direction, take, pruner, heartbeat, raw, startup)


def _one_of(node: dict, key: str, default: str, allowed: tuple, where: str, problems: list) -> str:
    v = node.get(key, default)
    if v not in allowed:
        problems.append(f"{where}: {key}: '{v}' is not one of {', '.join(allowed)}.")
        return default
    return v


def _param(name: str, spec, where: str, problems: list) -> Param | None:
    if isinstance(spec, list):
        spec = {"choices": spec}
    if not isinstance(spec, dict):
        problems.append(f"{where}: give a list of values, {{choices: [...]}}, {{low: A, high: B}} or {{int: [A, B]}}.")
        return None
    keys = spec.get("keys", [name])
    if isinstance(keys, str):
        keys = [keys]
    if not (isinstance(keys, list) and keys and all(isinstance(k, str) and k for k in keys)):
        problems.append(f"{where}.keys: give the recipe keys this value sets, e.g. [optim.g.lr, optim.d.lr].")
        return None
    unknown = set(spec) - {"keys", "choices", "low", "high", "log", "int"}
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                        f"(known: keys, choices, low, high, log, int).")
        return None
    log = spec.get("log", False)
    if not isinstance(log, bool):
        problems.append(f"{where}.log: true or false.")
        return None
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            problems.append(f"{where}: give at least one value.")
            return None
        bad = [c for c in choices if not (c is None or isinstance(c, (bool, int, float, str)))]
        if bad:
            problems.append(f"{where}: values must be numbers, strings, booleans or null, not {json.dumps(bad[0])}; "
                            f"sweep a nested key instead (e.g. penalties.0.gamma).")
            return None
        if len(set(map(json.dumps, choices))) < len(choices):
            problems.append(f"{where}: a value is listed twice.")
            return None
        return Param(name, keys, choices=list(choices))
    if "int" in spec:
        lo_hi = spec["int"]
        if not (isinstance(lo_hi, list) and len(lo_hi) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                   for v in lo_hi) and lo_hi[0] < lo_hi[1]):
            problems.append(f"{where}.int: give [low, high], two integers with low < high.")
            return None
        if log and lo_hi[0] < 1:
            problems.append(f"{where}: a log range needs low >= 1.")
            return None
        return Param(name, keys, low=lo_hi[0], high=lo_hi[1], log=log, integer=True)
    lo, hi = spec.get("low"), spec.get("high")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)) or not lo < hi:
        problems.append(f"{where}: give low and high, two numbers with low < high (or a list of values).")
        return None
    if log and lo <= 0:
        problems.append(f"{where}: a log range needs low > 0.")
        return None
    return Param(name, keys, low=float(lo), high=float(hi), log=log)


# -- the recipe side --------------------------------------------------------------------
def overrides(base, assignment: dict) -> list[str]:
    """``key=value`` overrides that set ``assignment`` ({recipe key: value}) on the recipe ``base``.

    A key through a list item (``penalties.0.gamma``) becomes an override of the whole list
    (``penalties=[...]``, the recipe's list with that item changed): overrides address no list items."""
    plain, lists = [], {}
    for key, value in assignment.items():
        parts = key.split(".")
        cut = next((i for i, p in enumerate(parts) if p.isdigit()), None)
        if cut is None:
            plain.append(f"{key}={json.dumps(value)}")
            continue
        top = ".".join(parts[:cut])
        if top not in lists:
            node = OmegaConf.select(base, top) if top else None
            if not OmegaConf.is_list(node):
                raise GankitError(f"params.{key}: {top or key} is not a list in the recipe, so '{parts[cut]}' "
                                  f"names no item. Check the key against the recipe (gankit check RECIPE).")
            lists[top] = OmegaConf.to_container(node, resolve=True)
        node, rest = lists[top], parts[cut:]
        try:
            for p in rest[:-1]:
                node = node[int(p)] if isinstance(node, list) else node[p]
            if isinstance(node, list):
                node[int(rest[-1])] = value
            elif isinstance(node, dict):
                node[rest[-1]] = value
            else:
                raise KeyError(rest[-1])
        except (IndexError, KeyError, TypeError, ValueError):
            raise GankitError(f"params.{key}: the recipe's {top} has no item at {'.'.join(rest[:-1]) or rest[-1]}. "
                              f"Check the key against the recipe (gankit check RECIPE).") from None
    return plain + [f"{top}={json.dumps(value)}" for top, value in lists.items()]


def check_against(space: Space, recipe: str | Path, user_overrides: list[str], where: str = "SPACE.yaml"):
    """Load the recipe with every probe value of every parameter; a key the recipe lacks or a value
    of the wrong type is an error naming the parameter. Returns the recipe as swept (no params)."""
    base = validate.load(recipe, user_overrides).cfg
    problems = []
    for p in space.params:
        for value in p.probes():
            try:
                validate.load(recipe, list(user_overrides) + overrides(base, {k: value for k in p.keys}))
            except GankitError as e:
                problems.append(f"{where}: params.{p.name} = {json.dumps(value)}: "
                                + " ".join(line.strip(" -") for line in str(e).splitlines()))
                break
    raise_if(problems, f"{where} does not fit {recipe}:" if len(problems) > 1 else "")
    return base
