"""Training curves from a run's metrics.jsonl: losses, D outputs, throughput and every ``eval/*`` metric.

One panel table and one drawing serve both ``gankit plot`` (all panels in one ``curves.png``)
and the HTML report (each panel cut out of the same drawing), so a run's end draws its curves once.
"""
import io
import math
from pathlib import Path
from typing import BinaryIO, NamedTuple

from gankit.errors import GankitError
from gankit.store.files import CURVES_FILE, METRICS_FILE, write_bytes_atomic
from gankit.store.metrics import EVAL_PREFIX, MetricsLog, read_metrics

# Panels drawn from training rows: (title, y label, keys).
PANELS = (
    ("Losses", "loss", ("d_loss", "g_loss")),
    ("Discriminator logits (mean)", "logit", ("d_real", "d_fake")),
    ("Throughput", "images / s", ("images_per_s",)),
)
SKIP_EVAL = {"eval/eval_s"}  # bookkeeping, not a metric
PANEL_SIZE = (4.5, 3.2)  # inches per panel


class Panel(NamedTuple):
    title: str
    ylabel: str
    series: list[tuple[str, list, list]]  # (key, steps, values)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def series(rows: list[dict], key: str) -> tuple[list, list]:
    """Steps and finite values of ``key`` over ``rows``."""
    pts = [(r["step"], r[key]) for r in rows if is_number(r.get(key)) and math.isfinite(r[key])]
    return [p[0] for p in pts], [p[1] for p in pts]


def panels(log: MetricsLog) -> list[Panel]:
    """The panels with something to draw: the training table's, then one per eval metric."""
    out = []
    for title, ylabel, keys in PANELS:
        drawn = [(k, *series(log.train, k)) for k in keys]
        drawn = [s for s in drawn if s[1]]
        if drawn:
            out.append(Panel(title, ylabel, drawn))
    eval_keys = sorted({k for r in log.evals for k, v in r.items()
                        if k.startswith(EVAL_PREFIX) and k not in SKIP_EVAL and is_number(v)})
    for k in eval_keys:
        xs, ys = series(log.evals, k)
        if xs:
            name = k.removeprefix(EVAL_PREFIX)
            out.append(Panel(name, name, [(k, xs, ys)]))
    return out


def render(shown: list[Panel], title: str | None = None, cols: int = 3,
           size: tuple[float, float] = PANEL_SIZE) -> tuple[bytes, list[bytes]]:
    """``shown`` drawn once in a grid of up to ``cols`` columns: the whole figure as a PNG, and each
    panel cut out of the same pixels (with its title, labels and legend) as a PNG of its own."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.ticker import MaxNLocator

    cols = max(1, min(cols, len(shown)))
    nrows = math.ceil(len(shown) / cols)
    fig = Figure(figsize=(size[0] * cols, size[1] * nrows), dpi=100)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax, panel in zip(axes.flat, shown):
        for key, xs, ys in panel.series:
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=key)
        ax.set_title(panel.title)
        ax.set_xlabel("step")
        ax.set_ylabel(panel.ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(panel.series) > 1:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    height, width = pixels.shape[:2]
    crops = []
    for ax in list(axes.flat)[:len(shown)]:
        box = ax.get_tightbbox(canvas.get_renderer())  # display pixels, origin at the bottom left
        x0, x1 = max(0, int(box.x0) - 4), min(width, math.ceil(box.x1) + 4)
        y0, y1 = max(0, height - math.ceil(box.y1) - 4), min(height, height - int(box.y0) + 4)
        crops.append(_png(pixels[y0:y1, x0:x1]))
    return _png(pixels), crops


def _png(pixels) -> bytes:
    from PIL import Image  # matplotlib's own image dependency

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="png")
    return buf.getvalue()


def draw(shown: list[Panel], out: str | Path | BinaryIO, title: str | None = None, cols: int = 3,
         size: tuple[float, float] = PANEL_SIZE) -> None:
    """Draw ``shown`` in a grid of up to ``cols`` columns, as a PNG into ``out`` (a path or binary file)."""
    png = render(shown, title, cols, size)[0]
    if isinstance(out, (str, Path)):
        write_bytes_atomic(out, png)
    else:
        out.write(png)


def panel_pngs(log: MetricsLog) -> list[bytes]:
    """Each panel as its own PNG (the report's inline charts)."""
    shown = panels(log)
    return render(shown)[1] if shown else []


def plot_curves(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``<run>/curves.png`` (or ``out``): one panel per group of training numbers and per eval metric."""
    return write_curves(run_dir, out)[0]


def write_curves(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, list[bytes]]:
    """:func:`plot_curves`, also returning each panel's PNG cut from the same drawing (for the report)."""
    run_dir = Path(run_dir)
    path = run_dir / METRICS_FILE
    if not path.is_file():
        raise GankitError(f"plot: {path} not found. Give a run directory written by `gankit train`.")
    log = read_metrics(path)
    if not log.train and not log.evals:
        raise GankitError(f"plot: {path} has no rows yet. Plot after the run has logged (trainer.log_every).")
    shown = panels(log)
    if not shown:
        raise GankitError(f"plot: {path} holds no loss or eval/* numbers to plot.")
    out = Path(out) if out else run_dir / CURVES_FILE
    full, crops = render(shown, title=run_dir.name)
    write_bytes_atomic(out, full)
    return out, crops
