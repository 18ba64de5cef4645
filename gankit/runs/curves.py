"""Training curves from a run's metrics.jsonl: losses, D outputs and every ``eval/*`` metric."""
import json
import math
from pathlib import Path

from gankit.errors import GankitError

PANELS = (("losses", ("d_loss", "g_loss")), ("D outputs (mean logit)", ("d_real", "d_fake")))
SKIP_EVAL = {"eval/eval_s"}


def read_rows(path: Path) -> list[dict]:
    """The JSON rows of a metrics.jsonl; a half-written last line (crash) is skipped."""
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "step" in row:
            rows.append(row)
    return rows


def _series(rows: list[dict], key: str) -> tuple[list, list]:
    pts = [(r["step"], r[key]) for r in rows
           if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_curves(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``<run>/curves.png`` (or ``out``): one panel per group of losses and per eval metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise GankitError(f"plot: {path} not found. Give a run directory written by `gankit train`.")
    rows = read_rows(path)
    if not rows:
        raise GankitError(f"plot: {path} has no rows yet. Plot after the run has logged (trainer.log_every).")
    eval_keys = sorted({k for r in rows for k in r if k.startswith("eval/") and k not in SKIP_EVAL})
    panels = [(t, [k for k in keys if _series(rows, k)[0]]) for t, keys in PANELS]
    panels = [(t, keys) for t, keys in panels if keys] + [(k.removeprefix("eval/"), [k]) for k in eval_keys]
    if not panels:
        raise GankitError(f"plot: {path} holds no loss or eval/* numbers to plot.")
    cols = min(3, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.5 * cols, 3.2 * nrows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, panels):
        for k in keys:
            xs, ys = _series(rows, k)
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=k)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(run_dir.name)
    fig.tight_layout()
    out = Path(out) if out else run_dir / "curves.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
