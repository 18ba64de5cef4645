"""Records of compared runs (``gankit compare`` and ``gankit sweep`` with ``--record``): each configuration's final
numbers over its seeds, and what a record keeps besides: its curves (the eval points every seed has) and its
first counted seed's grids, copied beside the record."""
from pathlib import Path

import yaml

from gankit.errors import GankitError
from gankit.experiments.records import (RESULTS_DIR, Row, Value, check_name, new, recipe_fingerprint, recipe_ref,
                                        write)
from gankit.runs.curves import is_number
from gankit.store import machine as machine_mod
from gankit.store.files import write_bytes_atomic
from gankit.store.grids import grid_step, read_grid, real_grid_path
from gankit.store.metrics import EVAL_PREFIX


def counted(data: dict, found: list) -> list[tuple[dict, list]]:
    """The configurations of ``gankit compare``'s table ``data`` that have runs its numbers count (pruned and
    failed trials left out), each with those runs (of ``found``)."""
    by_path = {str(r.path): r for r in found}
    out = [(c, [by_path[p] for p in c["paths"] if by_path[p].name not in c["excluded"]]) for c in data["configs"]]
    return [(c, members) for c, members in out if members]


def curve(members: list, metric: str) -> list[dict]:
    """A metric's eval points over the seeds ``members`` (runs of one configuration): at each step every seed
    logged it, the step, the images seen by then (step × batch_size × d_steps of the recipe; None when the
    seeds differ in it) and one value per seed, in the seeds' order."""
    key = EVAL_PREFIX + metric
    per_run = [{int(r["step"]): float(r[key]) for r in m.evals if is_number(r.get(key)) and is_number(r.get("step"))}
               for m in members]
    if not per_run:
        return []
    steps = sorted(set.intersection(*(set(p) for p in per_run)))
    per_step = {m.images_per_step for m in members}
    images = per_step.pop() if len(per_step) == 1 else None
    return [{"step": s, "images": s * images if images is not None else None, "values": [p[s] for p in per_run]}
            for s in steps]


def keep_grids(members: list, folder: Path, prefix: str = "") -> dict:
    """Copy the first of ``members`` with a sample grid: its last grid and its ``samples/real.png`` (where it has
    one) to ``folder/<prefix>last.png`` and ``real.png``; returns {"last", "real": path, "last_seed",
    "last_step"} ({} when no run has a grid)."""
    run = next((m for m in members if m.last_grid() is not None), None)
    if run is None:
        return {}
    last = run.last_grid()
    kept = {}
    for key, source in (("last", last), ("real", real_grid_path(run.path))):
        png = read_grid(source)
        if png is not None:
            target = folder / f"{prefix}{key}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, png)
            kept[key] = target.as_posix()
    if "last" in kept:
        kept |= {"last_step": grid_step(last)} | ({"last_seed": run.seed} if isinstance(run.seed, int) else {})
    return kept


def override(key: str, value) -> str:
    """A compared configuration's dotted key (list items by index) as a command-line override."""
    parts = key.split(".")
    dotted = parts[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts[1:])
    return f"{dotted}={yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix('...').strip()}"


def compared_rows(data: dict, found: list, given: list[str] | None) -> list[Row]:
    """The record rows of ``gankit compare``'s table ``data`` (its runs ``found``): each configuration's final
    value of each metric over its counted seeds, its runs' recipe fingerprint and their machine.json; a
    configuration without a counted run (all its trials pruned or failed) has no row.
    ``given``: the recipe file (and overrides) the runs were trained from; each configuration adds its keys."""
    rows = []
    for c, members in counted(data, found):
        prints = {recipe_fingerprint(r.recipe) for r in members}
        if len(prints) > 1:
            raise GankitError(f"--record: the runs of configuration '{c['label']}' were trained from "
                              f"{len(prints)} different recipes; compare them apart.")
        ref = recipe_ref([given[0], *given[1:], *(override(k, v) for k, v in c["config"].items())] if given else None,
                         prints.pop() if prints else "")
        values = {m: Value(s["mean"], s["sd"], s["values"], data["labels"][m])
                  for m, entry in c["metrics"].items() if (s := entry["final"])}
        machines = [machine_mod.read(r.path) for r in members]
        first = next((m for m in machines if m), None)
        alone = len(data["configs"]) == 1 and given  # one configuration: named after its recipe file
        rows.append(Row(label=Path(given[0]).stem if alone else c["label"], recipe=ref, values=values,
                        seeds=[r.seed for r in members], runs=[r.name for r in members], machine=first,
                        precision=first.get("precision") if first else None,
                        curves={m: pts for m in data["metrics"] if (pts := curve(members, m))}))
    return rows


def write_compared(name: str, data: dict, found: list, given: list[str] | None, argv: list[str],
                   folder: str | Path = RESULTS_DIR) -> Path:
    """The record ``name`` of ``gankit compare``'s table ``data`` (its runs ``found``), with each row's curves
    and grids (``<folder>/<name>/last.png`` and ``real.png``; ``<i>-last.png`` … when it has several rows)."""
    check_name(name)
    rows = compared_rows(data, found, given)
    for i, (row, (_, members)) in enumerate(zip(rows, counted(data, found))):
        row.images = keep_grids(members, Path(folder) / name, f"{i + 1}-" if len(rows) > 1 else "")
    return write(new(name, rows, argv), folder)
