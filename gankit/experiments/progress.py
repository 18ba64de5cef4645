"""What a sweep worker says as it goes: each row of a trial's run as it comes, the best trial so far.

The worker reads a trial's ``metrics.jsonl`` as the run writes it (``gankit.experiments.trial``), and
says each new row in one line, with the run's step count from its ``machine.json``; after each trial
it says the trial's value and the best one so far (``gankit.experiments.sweep``)."""
from pathlib import Path

from gankit.errors import printable
from gankit.store import machine


def say_rows(number: int, run_dir: Path, log, said: set, say) -> None:
    """Say each row of ``log`` (the run's metrics.jsonl, ``read_metrics``) not said yet (``said``: their
    (step, kind)): a training row's step and losses, an evaluation's numbers."""
    rows = [(r, "train") for r in log.train] + [(r, "eval") for r in log.evals]
    new = sorted(((r, kind) for r, kind in rows if (r["step"], kind) not in said), key=lambda rk: rk[0]["step"])
    if not new:
        return
    total = (machine.read(run_dir) or {}).get("steps")
    for row, kind in new:
        said.add((row["step"], kind))
        where = f"trial {number}: step {row['step']}" + (f" of {total}" if total else "")
        if kind == "eval":
            numbers = [f"{k[5:]} {v:.4g}" for k, v in row.items() if k.startswith("eval/") and k != "eval/eval_s"
                       and isinstance(v, (int, float))]
            say(printable(f"{where}, eval " + ", ".join(numbers)))
        else:
            numbers = [f"{k} {row[k]:.4g}" for k in ("d_loss", "g_loss") if isinstance(row.get(k), (int, float))]
            speed = [f"{row['images_per_s']:.0f} img/s"] if isinstance(row.get("images_per_s"), (int, float)) else []
            say(printable(", ".join([where, *numbers, *speed])))


def best_so_far(study) -> str:
    """The best completed trial so far, in words."""
    try:
        best = study.best_trial
    except ValueError:  # none has completed
        return "no trial has completed yet"
    return f"best so far {best.value:.6g} (trial {best.number} {best.user_attrs.get('run', '')})"
