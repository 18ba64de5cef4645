"""Run directories read back for comparison: recipe, metrics, last sample grid, and (in a sweep) the trial.

A path given to ``gankit compare`` is a run directory, a sweep folder (its ``runs/``) or a folder
of run directories. Runs are grouped into configurations: runs whose recipes are equal except
for the seed and keys that do not change what is trained (``INCIDENTAL``: the description, how
often it logs, samples and saves, where it writes) are seeds of one configuration.
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

# keys that do not make another configuration: the seed, and what does not change what is trained
INCIDENTAL = ("description", "trainer.log_every", "trainer.sample_every", "trainer.checkpoint_every",
              "trainer.keep_checkpoints", "trainer.num_grid", "output", "trackers")
IGNORED = ("trainer.seed", *INCIDENTAL)


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


def _under(key: str, prefixes) -> bool:
    return any(key == i or key.startswith(i + ".") for i in prefixes)


def config_of(run: Run, ignored=IGNORED) -> dict:
    return {k: v for k, v in flat(run.recipe).items() if not _under(k, ignored)}


def _changed(configs: list[dict]) -> list[str]:
    keys = sorted({k for c in configs for k in c})
    return [k for k in keys if len({json.dumps(c[k], sort_keys=True, default=str) if k in c else "<missing>"
                                    for c in configs}) > 1]


def value_at(recipe: dict, key: str, missing="—"):
    """The value of a dotted key (list items by index) in a recipe."""
    node = recipe
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return missing
    return node


def _whole_list(key: str, runs: list[Run]) -> str:
    """``key``, or the list above it when that list is better named whole: a list of plain values
    (``plugins``), or one whose length is not the same in every run (``penalties`` vs ``penalties.0.gamma``)."""
    parts = key.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            lists = [value_at(r.recipe, ".".join(parts[:i]), None) for r in runs]
            if any(not isinstance(v, list) or not all(isinstance(x, dict) for x in v) for v in lists) or \
                    len({len(v) for v in lists}) > 1:
                return ".".join(parts[:i])
            break
    return key


def differing_keys(runs: list[Run]) -> list[str]:
    """The recipe keys whose values tell configurations apart (not the same in every run; the seed and
    ``INCIDENTAL`` keys aside), a list named once."""
    return list(dict.fromkeys(_whole_list(k, runs) for k in _changed([config_of(r) for r in runs])))


def incidental_keys(runs: list[Run]) -> list[str]:
    """The ``INCIDENTAL`` keys whose values differ between the runs (they make no other configuration)."""
    changed = _changed([config_of(r, ignored=("trainer.seed",)) for r in runs])
    return list(dict.fromkeys(_whole_list(k, runs) for k in changed if _under(k, INCIDENTAL)))


def group(runs: list[Run]) -> list[tuple[dict, list[Run]]]:
    """Configurations in first-seen order: ({differing key: value}, its runs)."""
    keys = differing_keys(runs)
    groups: dict[str, tuple[dict, list[Run]]] = {}
    for r in runs:
        ident = json.dumps(config_of(r), sort_keys=True, default=str)
        if ident not in groups:
            groups[ident] = ({k: value_at(r.recipe, k) for k in keys}, [])
        groups[ident][1].append(r)
    return list(groups.values())
