"""Run directories read back for comparison: recipe, metrics, last sample grid, and (in a sweep) the trial.

A path given to ``gankit compare`` is a run directory, a sweep folder (its ``runs/``) or a folder
of run directories. Runs are grouped into configurations: runs whose recipes are equal except
for ``trainer.seed`` and ``output`` are seeds of one configuration.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf.errors import OmegaConfBaseException

from gankit.config import yaml_files
from gankit.errors import GankitError
from gankit.experiments.study import SWEEP_FILE
from gankit.experiments.trial import RUNS_DIR
from gankit.store.files import METRICS_FILE, RECIPE_FILE
from gankit.store.grids import grids
from gankit.store.metrics import read_metrics

IGNORED = ("trainer.seed", "output")  # keys that do not make another configuration


@dataclass
class Run:
    path: Path
    name: str
    recipe: dict
    train: list[dict]
    evals: list[dict]
    sweep: str | None = None
    trial: dict = field(default_factory=dict)  # number, state, value (runs of a sweep)

    @property
    def seed(self):
        return (self.recipe.get("trainer") or {}).get("seed")

    @property
    def images_per_step(self) -> int:
        t = self.recipe.get("trainer") or {}
        return int(t.get("batch_size") or 1) * int(t.get("d_steps") or 1)

    def last_grid(self) -> Path | None:
        found = grids(self.path)
        return found[-1] if found else None


def is_run(path: Path) -> bool:
    return (path / RECIPE_FILE).is_file() or (path / METRICS_FILE).is_file()


def find(paths: list[str]) -> tuple[list[Run], list[Path]]:
    """The runs under ``paths`` (in order, each once) and the sweep folders among them."""
    runs, sweeps, seen = [], [], set()
    for given in paths:
        p = Path(given)
        if not p.is_dir():
            raise GankitError(f"compare: {p} is not a folder. Give run directories or sweep folders.")
        if (p / SWEEP_FILE).is_file():
            sweeps.append(p)
            found = sorted(d for d in (p / RUNS_DIR).glob("*") if d.is_dir() and is_run(d))
        elif is_run(p):
            found = [p]
        else:
            found = sorted(d for d in p.iterdir() if d.is_dir() and is_run(d))
            if not found:
                raise GankitError(f"compare: {p} is neither a run directory (no {RECIPE_FILE} or {METRICS_FILE}), "
                                  f"a sweep folder (no {SWEEP_FILE}) nor a folder of runs.")
        for d in found:
            key = d.resolve()
            if key not in seen:
                seen.add(key)
                runs.append(load(d, sweep=p.name if (p / SWEEP_FILE).is_file() else None))
    if not runs:
        raise GankitError(f"compare: no runs found under {', '.join(paths)} (a sweep's runs appear once trials start).")
    return runs, sweeps


def load(path: Path, sweep: str | None = None) -> Run:
    recipe = {}
    if (path / RECIPE_FILE).is_file():
        try:
            recipe = yaml_files.read(path / RECIPE_FILE, "compare") or {}  # an alias bomb is refused here
        except (yaml.YAMLError, OSError, OmegaConfBaseException):
            recipe = {}
    log = read_metrics(path / METRICS_FILE)
    return Run(path, path.name, recipe if isinstance(recipe, dict) else {}, log.train, log.evals, sweep)


def flat(node, prefix: str = "") -> dict:
    """{dotted key: value} of a recipe; list items get their index (``penalties.0.gamma``)."""
    out = {}
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else None
    if items is None:
        return {prefix.rstrip("."): node}
    if not node and prefix:
        return {prefix.rstrip("."): node}
    for k, v in items:
        out |= flat(v, f"{prefix}{k}.") if isinstance(v, (dict, list)) else {f"{prefix}{k}": v}
    return out


def config_of(run: Run) -> dict:
    return {k: v for k, v in flat(run.recipe).items()
            if not any(k == i or k.startswith(i + ".") for i in IGNORED)}


def differing_keys(runs: list[Run]) -> list[str]:
    """The recipe keys (seed and output aside) whose values are not the same in every run."""
    configs = [config_of(r) for r in runs]
    keys = sorted({k for c in configs for k in c})
    missing = object()
    return [k for k in keys if len({json.dumps(c.get(k, missing) if k in c else "<missing>", sort_keys=True,
                                                default=str) for c in configs}) > 1]


def group(runs: list[Run]) -> list[tuple[dict, list[Run]]]:
    """Configurations in first-seen order: ({differing key: value}, its runs)."""
    keys = differing_keys(runs)
    groups: dict[str, tuple[dict, list[Run]]] = {}
    for r in runs:
        c = config_of(r)
        ident = json.dumps(c, sort_keys=True, default=str)
        if ident not in groups:
            groups[ident] = ({k: c.get(k, "—") for k in keys}, [])
        groups[ident][1].append(r)
    return list(groups.values())
