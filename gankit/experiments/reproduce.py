"""A recorded result as a regression test (``gankit reproduce``): find the record row that measured a recipe,
check that the configuration to train is still the one it measured (same recipe fingerprint), and judge a
run's final value of a metric against the row's seeds: reproduced when it lies within mean ± 2 sd.

The run's final value is taken as ``gankit compare`` takes it (``compare.run_values``), so the check measures
exactly what the record holds.
"""
from dataclasses import dataclass
from pathlib import Path

from gankit.errors import GankitError
from gankit.experiments import compare, records
from gankit.experiments.record_tables import precision_name
from gankit.experiments import runs as runs_mod
from gankit.runs.pages import with_error
from gankit.store import machine as machine_mod

SDS = 2  # how many of the recorded seeds' sd a reproduction may lie from their mean


@dataclass(frozen=True)
class Target:
    record: records.Record
    row: records.Row


def _same_file(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def find(recipe: str | Path, results: str | Path = records.RESULTS_DIR, record: str | None = None,
         row: str | None = None) -> Target:
    """The record row that measured ``recipe`` over several seeds: the one of ``record`` labelled ``row`` where
    they are given, else the only one, or the one with the fewest overrides (the recipe as it stands)."""
    folder = Path(results)
    if record is not None:
        records.check_name(record)
        found = [records.read(folder / f"{record}.json")]
    else:
        found = [records.read(p) for p in sorted(folder.glob("*.json"))]
    rows = [Target(rec, r) for rec in found for r in rec.rows  # trained over seeds: not a floor, bench or script row
            if r.recipe.path is not None and _same_file(r.recipe.path, recipe) and len(r.seeds) > 1]
    if row is not None:
        chosen = [t for t in rows if t.row.label == row]
        if not chosen:
            labels = ", ".join(f"'{t.row.label}' ({t.record.name})" for t in rows) or "none"
            raise GankitError(f"--row: no row '{row}' measures {recipe}; the rows that do: {labels}.")
        rows = chosen
    if not rows:
        head = f"record {record} has no row that measures" if record else f"no record in {folder}/ measures"
        raise GankitError(f"reproduce: {head} {recipe} over several seeds. Record it first from runs of it over several seeds: "
                          f"`gankit compare RUNS --record NAME --recipe {recipe} [KEY=VALUE ...]`, then run "
                          f"`gankit reproduce {recipe}`.")
    fewest = min((len(t.row.recipe.overrides) for t in rows), default=0)
    if len(rows) > 1 and len(plain := [t for t in rows if len(t.row.recipe.overrides) == fewest]) == 1:
        rows = plain  # the row closest to the recipe file as it stands (e.g. not its fp32 variant)
    if len(rows) > 1:
        several = "records" if len({t.record.name for t in rows}) > 1 else "rows of one record"
        listed = "; ".join(f"--record {t.record.name} --row '{t.row.label}'" for t in rows)
        raise GankitError(f"reproduce: {len(rows)} {several} measure {recipe}; choose one with --record NAME "
                          f"(and --row LABEL where one record has several): {listed}.")
    return rows[0]


def metric(target: Target, name: str | None = None) -> str:
    """The metric to check (default ``fd`` where the row has it, else its first); refused when the row holds a
    single value of it (no spread to test against)."""
    values = target.row.values
    if not values:
        raise GankitError(f"reproduce: row '{target.row.label}' of record {target.record.name} holds no values.")
    name = name or ("fd" if "fd" in values else next(iter(values)))
    if name not in values:
        raise GankitError(f"--metric: row '{target.row.label}' of record {target.record.name} holds no '{name}'; "
                          f"it holds {', '.join(values)}.")
    if name.startswith("floor/"):
        raise GankitError(f"--metric: {name} is a real-vs-real floor (its spread is over splits of the real images, "
                          f"not over seeds): no training run reproduces it. Check a metric of the generator, e.g. "
                          f"--metric {name.removeprefix('floor/')}.")
    if values[name].sd is None:
        raise GankitError(f"reproduce: row '{target.row.label}' of record {target.record.name} holds a single value "
                          f"of {name} (from {len(values[name].values)} run), so there is no spread over seeds to "
                          f"test a new run against. Record the configuration over several seeds "
                          f"(`gankit compare RUNS --record NAME --recipe ...`) and reproduce that.")
    return name


def overrides(recipe: str | Path, target: Target, given: list[str]) -> list[str]:
    """The overrides of the configuration to train: the row's, then ``given``; refused when they (or the
    recipe file, edited since) resolve to another fingerprint than the row's (its budget included)."""
    both = [*target.row.recipe.overrides, *given]
    now = records.file_fingerprint(recipe, both)
    if now != target.row.recipe.fingerprint:
        shown = " ".join(map(str, [recipe, *both]))
        cause = (f"the overrides {' '.join(given)} change what is trained, or {recipe} was edited since" if given
                 else f"{recipe} was edited since")
        raise GankitError(f"reproduce: {shown} resolves to recipe fingerprint {now}, and record {target.record.name} "
                          f"(row '{target.row.label}') measured {target.row.recipe.fingerprint}: {cause}, so this "
                          f"would not test the record. Leave out overrides that change the recipe (trainer.seed does "
                          f"not, nor does data.root); if the "
                          f"recipe was changed on purpose, the record is stale: measure it again with `gankit compare "
                          f"RUNS --record {target.record.name} --recipe {recipe} ...`.")
    return both


def check_run(run_dir: Path, target: Target) -> runs_mod.Run:
    """A finished run to judge: trained from the row's configuration (its fingerprint, budget included)."""
    run = runs_mod.load(run_dir)
    if not run.recipe:
        raise GankitError(f"--run: {run_dir} is not a run directory (no readable recipe.yaml).")
    fp = records.recipe_fingerprint(run.recipe)
    if fp != target.row.recipe.fingerprint:
        raise GankitError(f"--run: {run_dir} was trained from a recipe of fingerprint {fp}, and record "
                          f"{target.record.name} (row '{target.row.label}') measured "
                          f"{target.row.recipe.fingerprint}: it is another configuration. Give a run of this one, "
                          f"or leave --run out to train it.")
    return run


def where(machine: dict | None) -> str:
    """A machine in a few words: its GPUs, else its CPU model."""
    if not machine:
        return "an unrecorded machine"
    return ", ".join(machine.get("gpus") or []) or str(machine.get("cpu") or "an unrecorded machine")


def duration(s: float) -> str:
    """``2 min 31 s``; ``1 h 5 min``; ``4.2 s``."""
    if s < 60:
        return f"{s:.1f} s"
    minutes, secs = divmod(round(s), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def run_time(run: runs_mod.Run) -> float | None:
    """The run's own training time: ``time_s`` of its last training row."""
    return next((r["time_s"] for r in reversed(run.train) if isinstance(r.get("time_s"), (int, float))), None)


def verdict(run: runs_mod.Run, target: Target, name: str, seconds: float | None) -> tuple[bool, str]:
    """Whether the run's final ``name`` lies within mean ± 2 sd of the row's seeds, and the line that says so."""
    final, _, step = compare.run_values(run, name)
    if final is None:
        raise GankitError(f"reproduce: {run.path} logged no evaluation of {name} (its metrics.jsonl has no "
                          f"eval/{name}), so there is nothing to compare with the record.")
    v = target.row.values[name]
    lo, hi = v.mean - SDS * v.sd, v.mean + SDS * v.sd
    ok = lo <= final <= hi
    mean, sd, low, high, value = with_error(v.mean, v.sd, lo, hi, final)
    steps = next((r["step"] for r in reversed(run.train) if isinstance(r.get("step"), int)), step)
    ran = machine_mod.read(run.path) or {}
    here = f"{where(ran)}, {precision_name(ran.get('precision'))}"
    there = f"{where(target.row.machine)}, {precision_name(target.row.precision)}"
    line = (f"{'reproduced' if ok else 'not reproduced'}: {v.label}: {value} lies {'within' if ok else 'outside'} "
            f"{target.record.name}'s {mean} ± {sd} over {len(v.values)} seeds (allowed {low} to {high}); {steps} "
            f"steps{'' if seconds is None else ' in ' + duration(seconds)} on {here}"
            + ("" if here == there else f" (recorded on {there})"))
    return ok, line
