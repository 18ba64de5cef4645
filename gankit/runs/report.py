"""The run report: one self-contained HTML file, ``<run>/report.html``.

It holds the sample grids saved during training, loss and metric curves drawn from
``metrics.jsonl``, the final numbers, the resolved recipe, and the software and hardware
it was written on. Every image is embedded as base64 PNG, so the file can be mailed or
archived alone.
"""
import base64
import html
import io
import json
import math
import os
import platform
import re
import time
from pathlib import Path

from gankit.errors import GankitError

REPORT_FILE = "report.html"
MAX_GRIDS = 8  # sample grids shown (evenly spaced over training, always the last one)

# Curves drawn from training rows: (title, y label, keys).
CURVES = (
    ("Losses", "loss", ("d_loss", "g_loss")),
    ("Discriminator logits (mean)", "logit", ("d_real", "d_fake")),
    ("Throughput", "images / s", ("images_per_s",)),
)
FINAL_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "images_per_s", "epoch", "time_s")


def read_metrics(path: Path) -> tuple[list[dict], list[dict], int]:
    """Training rows, evaluation rows (keys ``eval/...``) and the number of unreadable lines."""
    train, evals, bad = [], [], 0
    if not path.is_file():
        return train, evals, bad
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a crash
            bad += 1
            continue
        if not isinstance(row, dict) or "step" not in row:
            bad += 1
            continue
        if any(k.startswith("eval/") for k in row):
            evals.append(row)
        if any(k in row for k in ("d_loss", "g_loss")):
            train.append(row)
    return train, evals, bad


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(v) -> str:
    if not _is_number(v):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.6g}"


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _plot(title: str, ylabel: str, rows: list[dict], keys: tuple[str, ...]) -> str | None:
    """A line chart of ``keys`` against step, as a data URI (None when there is nothing to draw)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.ticker import MaxNLocator

    series = []
    for k in keys:
        pts = [(r["step"], r[k]) for r in rows if _is_number(r.get(k)) and math.isfinite(r[k])]
        if pts:
            series.append((k, pts))
    if not series:
        return None
    fig = Figure(figsize=(6.4, 3.4), dpi=100)
    ax = fig.add_subplot()
    for k, pts in series:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k, marker="." if len(pts) < 30 else None)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return _png_data_uri(buf.getvalue())


def _pick_grids(paths: list[Path], n: int = MAX_GRIDS) -> list[Path]:
    if len(paths) <= n:
        return paths
    idx = sorted({round(i * (len(paths) - 1) / (n - 1)) for i in range(n)})
    return [paths[i] for i in idx]


def _grid_step(path: Path) -> int | None:
    m = re.fullmatch(r"step-(\d+)\.png", path.name)
    return int(m.group(1)) if m else None


def environment() -> dict[str, str]:
    """Versions and hardware of this machine."""
    from gankit import __version__

    env = {"python": platform.python_version(), "gankit": __version__, "platform": platform.platform()}
    for mod in ("torch", "accelerate"):
        try:
            env[mod] = __import__(mod).__version__
        except ImportError:
            env[mod] = "not installed"
    env["cpu"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores"
    try:
        import torch

        if torch.cuda.is_available():
            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            env["gpu"] = ", ".join(names) + f" (CUDA {torch.version.cuda})"
        else:
            env["gpu"] = "none visible"
    except ImportError:
        pass
    return env


def _table(rows: list[tuple[str, str]], head: tuple[str, str] | None = None) -> str:
    h = f"<thead><tr><th>{html.escape(head[0])}</th><th>{html.escape(head[1])}</th></tr></thead>" if head else ""
    body = "".join(f"<tr><td>{html.escape(str(a))}</td><td>{html.escape(str(b))}</td></tr>" for a, b in rows)
    return f"<table>{h}<tbody>{body}</tbody></table>"


def _checkpoint_state(run_dir: Path) -> dict:
    from gankit.training import checkpoint as ckpt

    last = ckpt.latest(run_dir)
    if last is None:
        return {}
    try:
        return {"checkpoint": last.name, **json.loads((last / ckpt.STATE_FILE).read_text())}
    except (OSError, json.JSONDecodeError):
        return {"checkpoint": last.name}


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.muted{color:#666} table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ddd;padding:.25em .7em;text-align:left}
td:nth-child(2){font-variant-numeric:tabular-nums} .grids{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0} figcaption{text-align:center;color:#555;font-size:.9em} .grids img{image-rendering:pixelated;width:224px}
.curves{display:flex;flex-wrap:wrap;gap:1em} .curves img{max-width:100%}
pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em}
"""


def build_html(run_dir: str | Path) -> str:
    """The report of a run directory, as one HTML string."""
    run = Path(run_dir)
    recipe_path, metrics_path = run / "recipe.yaml", run / "metrics.jsonl"
    if not run.is_dir():
        raise GankitError(f"report: run directory '{run}' does not exist. Give the folder a `gankit train` run wrote.")
    if not recipe_path.is_file() and not metrics_path.is_file():
        raise GankitError(
            f"report: '{run}' is not a gankit run (it has neither recipe.yaml nor metrics.jsonl). "
            f"Give the folder printed as 'run directory:' at the end of `gankit train`."
        )
    train, evals, bad = read_metrics(metrics_path)
    recipe_text = recipe_path.read_text() if recipe_path.is_file() else ""
    description = ""
    m = re.search(r"^description:\s*(.+)$", recipe_text, re.M)
    if m:
        description = m.group(1).strip().strip("'\"")

    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>gankit report: {html.escape(run.name)}</title><style>{STYLE}</style></head><body>",
             f"<h1>Run report: {html.escape(run.name)}</h1>"]
    if description:
        parts.append(f"<p>{html.escape(description)}</p>")
    last_step = max([r["step"] for r in train + evals if _is_number(r.get("step"))], default=None)
    parts.append(f"<p class=\"muted\">{html.escape(str(run.resolve()))} · last logged step: "
                 f"{last_step if last_step is not None else '–'} · written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>")

    # -- final numbers -------------------------------------------------------------
    parts.append("<h2>Final numbers</h2>")
    if train or evals:
        final = []
        if train:
            last = train[-1]
            final += [(f"{k} (step {last['step']})", _fmt(last[k])) for k in FINAL_KEYS if k in last]
        latest_eval: dict[str, tuple[int, object]] = {}
        for r in evals:
            for k, v in r.items():
                if k.startswith("eval/"):
                    latest_eval[k] = (r["step"], v)
        final += [(f"{k} (step {s})", _fmt(v)) for k, (s, v) in sorted(latest_eval.items())]
        parts.append(_table(final, ("metric", "value")))
    else:
        parts.append("<p>No rows in metrics.jsonl yet.</p>")
    if bad:
        parts.append(f"<p class=\"muted\">{bad} unreadable line(s) in metrics.jsonl were skipped.</p>")

    # -- curves ----------------------------------------------------------------------
    curves = [_plot(t, y, train, keys) for t, y, keys in CURVES]
    eval_keys = sorted({k for r in evals for k, v in r.items() if k.startswith("eval/") and _is_number(v)})
    curves += [_plot(k.removeprefix("eval/"), k.removeprefix("eval/"), evals, (k,)) for k in eval_keys]
    curves = [c for c in curves if c]
    parts.append("<h2>Curves</h2>")
    if curves:
        parts.append("<div class=\"curves\">" + "".join(
            f"<img class=\"curve\" alt=\"curve\" src=\"{c}\">" for c in curves) + "</div>")
    else:
        parts.append("<p>Nothing logged yet.</p>")

    # -- samples ---------------------------------------------------------------------
    grids = sorted((p for p in (run / "samples").glob("step-*.png") if _grid_step(p) is not None), key=_grid_step)
    parts.append("<h2>Samples over training</h2>")
    if grids:
        shown = _pick_grids(grids)
        if len(shown) < len(grids):
            parts.append(f"<p class=\"muted\">{len(shown)} of {len(grids)} grids, evenly spaced.</p>")
        parts.append("<div class=\"grids\">" + "".join(
            f"<figure><img class=\"grid\" alt=\"samples at step {_grid_step(p)}\" src=\"{_png_data_uri(p.read_bytes())}\">"
            f"<figcaption>step {_grid_step(p)}</figcaption></figure>" for p in shown) + "</div>")
    else:
        parts.append("<p>No sample grids in samples/.</p>")

    # -- recipe, environment -------------------------------------------------------
    parts.append("<h2>Recipe (resolved)</h2>")
    parts.append(f"<pre>{html.escape(recipe_text)}</pre>" if recipe_text else "<p>recipe.yaml is missing.</p>")
    parts.append("<h2>Environment</h2>")
    state = _checkpoint_state(run)
    if state:
        parts.append("<p>From the latest checkpoint:</p>")
        parts.append(_table([(k, v) for k, v in state.items()]))
    parts.append("<p>Where this report was written:</p>")
    parts.append(_table(list(environment().items())))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``<run_dir>/report.html`` (or ``out``) and return its path."""
    text = build_html(run_dir)
    path = Path(out) if out is not None else Path(run_dir) / REPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
