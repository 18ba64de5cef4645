"""The run report: one self-contained HTML file, ``<run>/report.html``.

It holds the sample grids saved during training, loss and metric curves drawn from
``metrics.jsonl``, the final numbers, the resolved recipe, and the software and hardware
it was written on. Every image is embedded as base64 PNG, so the file can be mailed or
archived alone.
"""
import base64
import html
import math
import os
import platform
import re
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

from gankit import __version__
from gankit.errors import GankitError
from gankit.runs.curves import is_number, panel_pngs, write_curves
from gankit.store import state as state_file
from gankit.store.checkpoints import latest
from gankit.store.files import CURVES_FILE, METRICS_FILE, RECIPE_FILE, REPORT_FILE, SAMPLES_DIR, write_text_atomic
from gankit.store.grids import grid_step, grids
from gankit.store.metrics import read_metrics

MAX_GRIDS = 8  # sample grids shown (evenly spaced over training, always the last one)
FINAL_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "images_per_s", "epoch", "time_s")


def _fmt(v) -> str:
    if not is_number(v):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.6g}"


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _pick_grids(paths: list[Path], n: int = MAX_GRIDS) -> list[Path]:
    if len(paths) <= n:
        return paths
    idx = sorted({round(i * (len(paths) - 1) / (n - 1)) for i in range(n)})
    return [paths[i] for i in idx]


def environment() -> dict[str, str]:
    """Versions and hardware of this machine."""
    env = {"python": platform.python_version(), "gankit": __version__, "platform": platform.platform()}
    for mod in ("torch", "accelerate"):
        try:
            env[mod] = __import__(mod).__version__
        except ImportError:
            env[mod] = "not installed"
    env["cpu"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores"
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        env["gpu"] = ", ".join(names) + f" (CUDA {torch.version.cuda})"
    else:
        env["gpu"] = "none visible"
    return env


def _table(rows: list[tuple[str, str]], head: tuple[str, str] | None = None) -> str:
    h = f"<thead><tr><th>{html.escape(head[0])}</th><th>{html.escape(head[1])}</th></tr></thead>" if head else ""
    body = "".join(f"<tr><td>{html.escape(str(a))}</td><td>{html.escape(str(b))}</td></tr>" for a, b in rows)
    return f"<table>{h}<tbody>{body}</tbody></table>"


def _checkpoint_state(run_dir: Path) -> dict:
    last = latest(run_dir)
    if last is None:
        return {}
    try:
        return {"checkpoint": last.name, **asdict(state_file.read(last))}
    except GankitError:  # a damaged state.json: the report shows the rest
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


def build_html(run_dir: str | Path, curves: list[bytes] | None = None) -> str:
    """The report of a run directory, as one HTML string."""
    run = Path(run_dir)
    recipe_path, metrics_path = run / RECIPE_FILE, run / METRICS_FILE
    if not run.is_dir():
        raise GankitError(f"report: run directory '{run}' does not exist. Give the folder a `gankit train` run wrote.")
    if not recipe_path.is_file() and not metrics_path.is_file():
        raise GankitError(
            f"report: '{run}' is not a gankit run (it has neither {RECIPE_FILE} nor {METRICS_FILE}). "
            f"Give the folder printed as 'run directory:' at the end of `gankit train`."
        )
    log = read_metrics(metrics_path)
    train, evals, bad = log
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
    last_step = max([r["step"] for r in train + evals if is_number(r.get("step"))], default=None)
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
        parts.append(f"<p>No rows in {METRICS_FILE} yet.</p>")
    if bad:
        parts.append(f"<p class=\"muted\">{bad} unreadable line(s) in {METRICS_FILE} were skipped.</p>")

    # -- curves ----------------------------------------------------------------------
    curves = [_png_data_uri(png) for png in (panel_pngs(log) if curves is None else curves)]
    parts.append("<h2>Curves</h2>")
    if curves:
        parts.append("<div class=\"curves\">" + "".join(
            f"<img class=\"curve\" alt=\"curve\" src=\"{c}\">" for c in curves) + "</div>")
    else:
        parts.append("<p>Nothing logged yet.</p>")

    # -- samples ---------------------------------------------------------------------
    found = grids(run)
    parts.append("<h2>Samples over training</h2>")
    if found:
        shown = _pick_grids(found)
        if len(shown) < len(found):
            parts.append(f"<p class=\"muted\">{len(shown)} of {len(found)} grids, evenly spaced.</p>")
        parts.append("<div class=\"grids\">" + "".join(
            f"<figure><img class=\"grid\" alt=\"samples at step {grid_step(p)}\" src=\"{_png_data_uri(p.read_bytes())}\">"
            f"<figcaption>step {grid_step(p)}</figcaption></figure>" for p in shown) + "</div>")
    else:
        parts.append(f"<p>No sample grids in {SAMPLES_DIR}/.</p>")

    # -- recipe, environment -------------------------------------------------------
    parts.append("<h2>Recipe (resolved)</h2>")
    parts.append(f"<pre>{html.escape(recipe_text)}</pre>" if recipe_text else f"<p>{RECIPE_FILE} is missing.</p>")
    parts.append("<h2>Environment</h2>")
    state = _checkpoint_state(run)
    if state:
        parts.append("<p>From the latest checkpoint:</p>")
        parts.append(_table([(k, v) for k, v in state.items()]))
    parts.append("<p>Where this report was written:</p>")
    parts.append(_table(list(environment().items())))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(run_dir: str | Path, out: str | Path | None = None, curves: list[bytes] | None = None) -> Path:
    """Write ``<run_dir>/report.html`` (or ``out``) and return its path; ``curves``: the panels' PNGs
    when they are already drawn."""
    text = build_html(run_dir, curves)
    path = Path(out) if out is not None else Path(run_dir) / REPORT_FILE
    write_text_atomic(path, text)
    return path


def write_views(run_dir: str | Path) -> list[Path]:
    """``curves.png`` and ``report.html`` of a finished run, from one drawing of the curves; a failure
    only warns (the run itself is saved)."""
    written, panels = [], None
    try:
        path, panels = write_curves(run_dir)
        written.append(path)
    except Exception as e:  # noqa: BLE001 - the run itself is complete and saved
        warnings.warn(f"could not write {CURVES_FILE} for {run_dir}: {type(e).__name__}: {e}", stacklevel=2)
    try:
        written.append(write_report(run_dir, curves=panels))
    except Exception as e:  # noqa: BLE001
        warnings.warn(f"could not write {REPORT_FILE} for {run_dir}: {type(e).__name__}: {e}", stacklevel=2)
    return written
