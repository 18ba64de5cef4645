"""What a record keeps of the runs it was measured from, besides their final numbers: each configuration's
curves (the eval points every seed has) and its first counted seed's grids, copied beside the record."""
from pathlib import Path

from gankit.runs.curves import is_number
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
