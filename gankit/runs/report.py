"""The run report: one self-contained HTML file, ``<run>/report.html``.

It holds the recipe's description, what ran (steps, precision, device, the best checkpoint), the
last sample grid large beside a grid of real training images (``samples/real.png``), loss and
metric curves drawn from ``metrics.jsonl``, the final numbers, the sample grids over training, the
resolved recipe, and the machine that trained the run (``machine.json``). Every image is embedded
as base64 PNG, so the file can be mailed or archived alone. Every text from the run is escaped.
"""
import math
import time
import warnings
from collections import Counter
from pathlib import Path

import yaml

from gankit.errors import GankitError
from gankit.runs.curves import is_number, panel_pngs, write_curves
from gankit.runs.pages import esc, head, metric_name, number, png_data_uri, table
from gankit.store import machine
from gankit.store import state as state_file
from gankit.store.checkpoints import BEST_INFO, best, latest
from gankit.store.files import (CURVES_FILE, METRICS_FILE, RECIPE_FILE, REPORT_FILE, SAMPLES_DIR, read_json,
                                write_text_atomic)
from gankit.store.grids import REAL_GRID, grid_step, grids, read_grid, real_grid_path
from gankit.store.metrics import EVAL_PREFIX, read_metrics

MAX_GRIDS = 8  # sample grids shown (evenly spaced over training, always the last one)
FINAL_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "images_per_s", "epoch", "time_s")
MACHINE_KEYS = ("host", "GPUs", "CPU", "python", "torch", "accelerate", "gankit", "platform", "started")


def _fmt(v) -> str:
    if not is_number(v) or isinstance(v, int) or not math.isfinite(v):
        return str(v)
    return f"{v:.6g}"


def _pick_grids(paths: list[Path], n: int = MAX_GRIDS) -> list[Path]:
    if len(paths) <= n:
        return paths
    idx = sorted({round(i * (len(paths) - 1) / (n - 1)) for i in range(n)})
    return [paths[i] for i in idx]


def _recipe(text: str) -> dict:
    """The stored recipe as data ({} when it cannot be read: the page shows its text anyway)."""
    try:
        data = yaml.safe_load(text) if text else {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _precision(value) -> str:
    return "fp32" if value == "no" else str(value)


def ran(run: Path, recipe: dict, ran_on: dict | None) -> list[tuple[str, str]]:
    """What ran: steps, checkpoints, the precision and device it trained with (``machine.json``; for a run
    without one the recipe's request, said to be so)."""
    trainer = recipe.get("trainer") if isinstance(recipe.get("trainer"), dict) else {}
    asked = _precision(trainer["precision"]) if "precision" in trainer else None
    rows = []
    last = latest(run)
    state = _state(last) if last is not None else {}
    if last is not None:
        skipped = state.get("skipped")
        rows.append(("latest checkpoint", f"checkpoints/{last.name}" +
                     (f" ({skipped} non-finite step(s) skipped)" if is_number(skipped) and skipped else "")))
    rows.append(("best checkpoint", _best(run, recipe, state)))
    if ran_on is not None and "precision" in ran_on:
        done = _precision(ran_on["precision"])
        rows.append(("precision", done if asked in (None, done) else f"{done} (recipe: {asked})"))
    else:
        rows.append(("precision", f"{asked} (as requested; what ran was not recorded)" if asked else "not recorded"))
    if ran_on is not None and "device" in ran_on:
        world = ran_on.get("world_size")
        rows.append(("device", f"{ran_on['device']}" + (f" × {world} processes" if is_number(world) and world > 1 else "")))
    else:
        rows.append(("device", "not recorded"))
    return rows


def _state(ckpt: Path) -> dict:
    try:
        return state_file.read(ckpt).__dict__
    except GankitError:  # a damaged state.json: the report shows the rest
        return {}


def _best(run: Path, recipe: dict, state: dict) -> str:
    """``fd 1204 at step 20 (checkpoints/best)``: checkpoints/best's record, or the latest state's best."""
    published, record = best(run), None
    if published is not None:
        try:
            record = read_json(published / BEST_INFO)
        except (OSError, ValueError):
            record = None
    if not isinstance(record, dict):
        ev = recipe.get("eval") if isinstance(recipe.get("eval"), dict) else {}
        record = {"metric": ev.get("best") or "best", "value": state.get("best"), "step": state.get("best_step")}
    if not is_number(record.get("value")):
        return "none (no evaluation chose one)"
    where = " (checkpoints/best)" if published is not None else ""
    return f"{record.get('metric')} {number(record['value'])} at step {record.get('step')}{where}"


def training_machine(ran_on: dict) -> list[tuple[str, str]]:
    """The rows of the machine that trained the run, as ``machine.json`` describes it."""
    gpus = ran_on.get("gpus")
    if isinstance(gpus, list) and gpus:
        shown = ", ".join(f"{n} × {name}" if n > 1 else str(name) for name, n in Counter(map(str, gpus)).items())
        gpu_text = shown + (f" (CUDA {ran_on['cuda']})" if ran_on.get("cuda") else "")
    else:
        gpu_text = "none" if isinstance(gpus, list) else str(gpus)
    flags = ran_on.get("cpu_flags")
    cpu = str(ran_on.get("cpu", "?")) + (f" ({', '.join(map(str, flags))})" if isinstance(flags, list) and flags else "")
    cpu += f", {ran_on['cores']} logical cores" if "cores" in ran_on else ""
    cpu += f", {ran_on['threads']} threads" if "threads" in ran_on else ""
    values = {"GPUs": gpu_text, "CPU": cpu} | {k: ran_on[k] for k in MACHINE_KEYS if k in ran_on}
    return [(k, str(values[k])) for k in MACHINE_KEYS if k in values]


def _figure(cls: str, alt: str, path: Path, caption: str) -> str:
    png = read_grid(path)  # bounded; None for a file gankit did not write (a symlink, a device, a pipe)
    if png is None:
        return f"<figure><figcaption>{esc(caption)}: {esc(path.name)} is not a readable PNG file</figcaption></figure>"
    return (f"<figure><img class=\"{cls}\" alt=\"{esc(alt)}\" src=\"{png_data_uri(png)}\">"
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def _last_and_real(run: Path, found: list[Path]) -> str:
    """The last sample grid, large, beside the grid of real training images."""
    figs = []
    if found:
        figs.append(_figure("last", f"samples at step {grid_step(found[-1])}", found[-1],
                            f"generated, step {grid_step(found[-1])}"))
    real = real_grid_path(run)
    if real.is_file():
        figs.append(_figure("real", "real images", real, "real training images"))
    note = "" if real.is_file() else f"<p class=\"muted\">No real images to compare: no {SAMPLES_DIR}/{REAL_GRID} in this run.</p>"
    if not figs:
        return note + f"<p>No sample grids in {SAMPLES_DIR}/.</p>"
    return "<div class=\"pair\">" + "".join(figs) + "</div>" + note


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
    recipe_text = recipe_path.read_text(encoding="utf-8", errors="replace") if recipe_path.is_file() else ""
    recipe = _recipe(recipe_text)
    description = recipe.get("description")
    ran_on = machine.read(run)

    parts = [head(f"gankit report: {run.name}"), f"<h1>Run report: {esc(run.name)}</h1>"]
    if isinstance(description, str) and description.strip():
        parts.append(f"<p class=\"description\">{esc(description.strip())}</p>")
    last_step = max([r["step"] for r in train + evals if is_number(r.get("step"))], default=None)
    parts.append(f"<p class=\"muted\">{esc(run.resolve())} · last logged step: "
                 f"{last_step if last_step is not None else '–'} · written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>")
    parts.append(table(ran(run, recipe, ran_on), cls="facts"))

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
        final += [(f"eval/{metric_name(evals, k.removeprefix(EVAL_PREFIX))} (step {s})", _fmt(v))
                  for k, (s, v) in sorted(latest_eval.items())]
        parts.append(table(final, ["metric", "value"]))
    else:
        parts.append(f"<p>No rows in {METRICS_FILE} yet.</p>")
    if bad:
        parts.append(f"<p class=\"muted\">{bad} unreadable line(s) in {METRICS_FILE} were skipped.</p>")

    # -- the last samples beside real images, the curves, the samples over training ----------
    found = grids(run)
    parts.append("<h2>Last samples and real images</h2>")
    parts.append(_last_and_real(run, found))
    curves = [png_data_uri(png) for png in (panel_pngs(log) if curves is None else curves)]
    parts.append("<h2>Curves</h2>")
    if curves:
        parts.append("<div class=\"curves\">" + "".join(
            f"<img class=\"curve\" alt=\"curve\" src=\"{c}\">" for c in curves) + "</div>")
    else:
        parts.append("<p>Nothing logged yet.</p>")
    parts.append("<h2>Samples over training</h2>")
    if found:
        shown = _pick_grids(found)
        if len(shown) < len(found):
            parts.append(f"<p class=\"muted\">{len(shown)} of {len(found)} grids, evenly spaced.</p>")
        parts.append("<div class=\"grids\">" + "".join(
            _figure("grid", f"samples at step {grid_step(p)}", p, f"step {grid_step(p)}")
            for p in shown) + "</div>")
    else:
        parts.append(f"<p>No sample grids in {SAMPLES_DIR}/.</p>")

    # -- recipe, training machine ----------------------------------------------------
    parts.append("<h2>Recipe (resolved)</h2>")
    parts.append(f"<pre>{esc(recipe_text)}</pre>" if recipe_text else f"<p>{RECIPE_FILE} is missing.</p>")
    parts.append("<h2>Training machine</h2>")
    if ran_on is None:
        parts.append(f"<p>Training machine: not recorded (this run has no readable {machine.MACHINE_FILE}; "
                     f"runs written by older versions of gankit did not describe their machine).</p>")
    else:
        parts.append(table(training_machine(ran_on), cls="facts"))
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
