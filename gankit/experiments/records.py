"""Measured results as records: ``results/<name>.json``, the one source of every table of numbers in the docs.

A record is written by gankit itself (``gankit eval RUN --record NAME``, ``gankit compare ... --record NAME``)
and holds, per row (a configuration, or one run), each metric's mean, sd and values over seeds, with its
label (``fd (lenet_mnist, 10k vs 10k)``); the recipe it was measured with (path, overrides and fingerprint);
the machine and precision; and for the whole record the commands, the commit (and whether the tree was
dirty) and the date. ``read`` checks every key and names the file and key of the first one that is wrong.

A row's recipe fingerprint is ``gankit.config.recipe.fingerprint`` of the resolved recipe as a model folder
shares it (absolute paths cut to their last part, ``gankit.runs.export.shareable``) without the keys a result
does not depend on (``NOT_MEASURED``: the seed, logging and saving, where the data lies), so it is the same on
every machine and for every seed; unlike a checkpoint's, it holds the budget (``trainer.max_steps``, ``epochs``)
and the evaluation schedule, which decide the final value. ``stale`` resolves the row's recipe file again: a recipe that
changed since the measurement makes the row stale.
"""
import json
import shlex
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from omegaconf import OmegaConf

from gankit.config import recipe as recipe_mod
from gankit.config import validate
from gankit.errors import GankitError
from gankit.experiments.runs import IGNORED
from gankit.experiments.stats import summarise
from gankit.runs.export import shareable
from gankit.store import machine as machine_mod
from gankit.store.files import write_json_atomic

SCHEMA = 1
RESULTS_DIR = Path("results")
# what a result does not depend on: the seed (a record holds several), how often a run logs and saves, where its
# data lies and whether it may download it, how long a process waits for the others, and the side jobs
NOT_MEASURED = (*IGNORED, "data.root", "data.download", "ddp.timeout_s", "side_jobs")


@dataclass(frozen=True)
class Value:
    """One metric of one row over its seeds (``sd`` None for a single value)."""
    mean: float
    sd: float | None
    values: list[float]
    label: str  # what the number is, e.g. "fd (lenet_mnist, 10k vs 10k)"


@dataclass(frozen=True)
class RecipeRef:
    """The recipe a row was measured with: a file of this repository (None: not given) and its overrides."""
    path: str | None
    overrides: list[str]
    fingerprint: str


@dataclass
class Row:
    label: str
    recipe: RecipeRef
    values: dict[str, Value]
    seeds: list = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    machine: dict | None = None  # the machine the runs trained on (their machine.json), when they have one
    precision: str | None = None
    # per metric, the eval points every seed has: [{"step", "images" (step × batch_size × d_steps), "values"}]
    curves: dict[str, list] = field(default_factory=dict)
    # the first counted seed's last sample grid and real grid, kept beside the record ("last", "real": paths;
    # "last_seed", "last_step": whose grid it is)
    images: dict = field(default_factory=dict)


@dataclass
class Record:
    name: str
    date: str
    commands: list[str]
    commit: dict  # {"sha": str | None, "dirty": bool | None}
    machine: dict  # gankit.store.machine.describe() where the numbers were measured
    rows: list[Row]
    schema: int = SCHEMA


# -- writing --------------------------------------------------------------------------------------------
def commit(rows: list[Row] = ()) -> dict:
    """The commit the rows' runs trained at, when their ``machine.json`` files name one and the same; else the
    commit of the code writing the record now (``gankit.store.machine.source_commit``)."""
    trained = {json.dumps(r.machine.get("commit"), sort_keys=True) for r in rows
               if r.machine and isinstance(r.machine.get("commit"), dict)}
    if len(trained) == 1 and all(r.machine and "commit" in r.machine for r in rows):
        return json.loads(trained.pop())
    return machine_mod.source_commit()


def command_line(argv: list[str], program: str = "gankit") -> str:
    """A command (``program``, e.g. ``gankit`` or ``python benchmarks/x.py``, and its arguments ``argv``) as one
    would type it again."""
    return shlex.join([*shlex.split(program), *argv])


def new(name: str, rows: list[Row], argv: list[str], program: str = "gankit") -> Record:
    check_name(name)
    return Record(name=name, date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  commands=[command_line(argv, program)],
                  commit=commit(rows), machine=machine_mod.describe(), rows=rows)


def check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "_-." for c in name) or name.startswith("."):
        raise GankitError(f"--record: '{name}' is not a record name; use letters, digits, '_', '-' and '.', "
                          f"e.g. --record mnist_dcgan_seeds (it is written to {RESULTS_DIR}/<name>.json).")


def write(record: Record, folder: str | Path = RESULTS_DIR) -> Path:
    path = Path(folder) / f"{record.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, asdict(record))
    return path


def recipe_fingerprint(recipe: dict) -> str:
    """The fingerprint of a resolved recipe (a plain dict) as a record keeps it (see the module's text): its
    budget and evaluation schedule are in it, the seed, logging and where the data lies are not."""
    plain = shareable(json.loads(json.dumps(recipe, default=str)))
    return recipe_mod.fingerprint(OmegaConf.create(plain), without=NOT_MEASURED)


def file_fingerprint(path: str | Path, overrides=()) -> str:
    """The fingerprint of a recipe file of this repository with ``overrides``, resolved now."""
    valid = validate.load(path, list(overrides), for_training=False)
    return recipe_fingerprint(recipe_mod.to_dict(valid.cfg))


def over(values: list[float], label: str) -> Value:
    """A Value of repeated measurements (seeds, rounds, timed steps): their mean and sd (ddof 1)."""
    s = summarise(values)
    if s is None:
        raise ValueError(f"{label}: no finite value to record")
    return Value(s.mean, s.sd, s.values, label)


def measured(label: str, values: dict[str, Value], recipe: str | None = None, overrides=(),
             precision: str | None = None, root: str | Path = ".") -> Row:
    """The row of a measurement made here and now (a benchmark script's): ``recipe`` a recipe file of this
    repository (relative to its ``root``) with ``overrides``, fingerprinted now; or None for code that uses no
    recipe."""
    ref = RecipeRef(recipe, list(overrides), file_fingerprint(Path(root) / recipe, overrides) if recipe else "")
    return Row(label=label, recipe=ref, values=values, seeds=[], runs=[], machine=machine_mod.describe(),
               precision=precision)


RECIPE_HELP = ("with --record: the recipe file of this repository the runs were trained from, and the overrides "
               "they were trained with (checked against the runs; a docs table marks the row stale once the file "
               "resolves to another recipe)")


def recipe_ref(given: list[str] | None, measured: str) -> RecipeRef:
    """The reference to the recipe file (``given``: path, then overrides) the runs of fingerprint ``measured``
    were trained with; refused when it does not resolve to what they ran."""
    path, overrides = (given[0], list(given[1:])) if given else (None, [])
    if path is not None:
        now = file_fingerprint(path, overrides)
        if now != measured:
            shown = " ".join([str(path), *overrides])
            raise GankitError(f"--recipe: {shown} resolves to fingerprint {now}, and the runs were trained with "
                              f"{measured}: they were not trained from this recipe (or it has changed since). Give "
                              f"the recipe file (and overrides) they were trained with, or leave --recipe out.")
    return RecipeRef(str(path) if path is not None else None, list(overrides), measured)


# -- reading --------------------------------------------------------------------------------------------
def _need(d, key: str, types, where: str, src, optional: bool = False):
    if not isinstance(d, dict) or key not in d:
        if optional:
            return None
        raise GankitError(f"{src}: key '{where}{key}' is missing. A record is written by `gankit eval --record` "
                          f"or `gankit compare --record`; write it again rather than by hand.")
    v = d[key]
    if v is None and optional:
        return None
    if not isinstance(v, types) or isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise GankitError(f"{src}: key '{where}{key}' should be {names}, and it is {json.dumps(v)[:60]}. "
                          f"Write the record again with gankit (eval or compare --record).")
    return v


def _value(d, where, src) -> Value:
    values = _need(d, "values", list, where, src)
    for i, x in enumerate(values):
        _need({"v": x}, "v", (int, float), f"{where}values[{i}] ", src)
    return Value(float(_need(d, "mean", (int, float), where, src)),
                 _none_or_float(_need(d, "sd", (int, float), where, src, optional=True)), [float(x) for x in values],
                 _need(d, "label", str, where, src))


def _curves(d: dict, where: str, src) -> dict[str, list]:
    out = {}
    for metric, points in d.items():
        w = f"{where}curves.{metric}"
        _need({"v": points}, "v", list, f"{w} ", src)
        out[str(metric)] = []
        for i, pt in enumerate(points):
            at = f"{w}[{i}]."
            values = _need(pt, "values", list, at, src)
            for j, x in enumerate(values):
                _need({"v": x}, "v", (int, float), f"{at}values[{j}] ", src)
            out[str(metric)].append({"step": _need(pt, "step", int, at, src),
                                     "images": _need(pt, "images", int, at, src, optional=True),
                                     "values": [float(x) for x in values]})
    return out


def _images(d: dict, where: str, src) -> dict:
    w = f"{where}images."
    out = {k: _need(d, k, str, w, src, optional=True) for k in ("last", "real")}
    out |= {k: _need(d, k, int, w, src, optional=True) for k in ("last_seed", "last_step")}
    return {k: v for k, v in out.items() if v is not None}


def _none_or_float(x):
    return None if x is None else float(x)


def from_dict(data, src) -> Record:
    if not isinstance(data, dict):
        raise GankitError(f"{src}: a record is a JSON object; this file holds {type(data).__name__}.")
    schema = _need(data, "schema", int, "", src)
    if schema != SCHEMA:
        raise GankitError(f"{src}: key 'schema' is {schema}; this gankit reads records of schema {SCHEMA}.")
    rows = []
    for i, r in enumerate(_need(data, "rows", list, "", src)):
        w = f"rows[{i}]."
        ref = _need(r, "recipe", dict, w, src)
        rows.append(Row(
            label=_need(r, "label", str, w, src),
            recipe=RecipeRef(_need(ref, "path", str, w + "recipe.", src, optional=True),
                             [str(o) for o in _need(ref, "overrides", list, w + "recipe.", src)],
                             _need(ref, "fingerprint", str, w + "recipe.", src)),
            values={str(k): _value(v, f"{w}values.{k}.", src) for k, v in _need(r, "values", dict, w, src).items()},
            seeds=_need(r, "seeds", list, w, src), runs=_need(r, "runs", list, w, src),
            machine=_need(r, "machine", dict, w, src, optional=True),
            precision=_need(r, "precision", str, w, src, optional=True),
            curves=_curves(_need(r, "curves", dict, w, src, optional=True) or {}, w, src),
            images=_images(_need(r, "images", dict, w, src, optional=True) or {}, w, src)))
    return Record(name=_need(data, "name", str, "", src), date=_need(data, "date", str, "", src),
                  commands=_need(data, "commands", list, "", src), commit=_need(data, "commit", dict, "", src),
                  machine=_need(data, "machine", dict, "", src), rows=rows, schema=schema)


def read(path: str | Path) -> Record:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GankitError(f"{path}: no such record. Write it with `gankit eval RUN --record {path.stem}` or "
                          f"`gankit compare ... --record {path.stem}`.") from None
    except (OSError, ValueError) as e:
        raise GankitError(f"{path}: not a readable JSON record ({e}). Write it again with gankit.") from None
    return from_dict(data, path)


def stale(row: Row, root: str | Path = ".") -> str | None:
    """Why a row no longer describes its recipe (its file gone, or now of another fingerprint); None when it
    still does, or when the row names no recipe file."""
    if row.recipe.path is None:
        return None
    path = Path(root) / row.recipe.path
    if not path.is_file():
        return f"{row.recipe.path} no longer exists"
    try:
        now = file_fingerprint(path, row.recipe.overrides)
    except GankitError as e:
        return f"{row.recipe.path} no longer loads ({str(e).splitlines()[0][:80]})"
    if now != row.recipe.fingerprint:
        return f"{row.recipe.path} now has fingerprint {now}, measured with {row.recipe.fingerprint}"
    return None
