"""The HTML page of ``gankit compare``: one self-contained file (every image embedded as PNG).

Tables of the configurations and their numbers over seeds, each run's own final numbers,
metric-versus-images-seen curves with a band of ± one sd over seeds, loss curves, the last
sample grid of every run, and for a sweep the parameter importance, the optimisation history
and its trials. Every text that comes from recipes, run names or metric keys is escaped.
"""
import io
import math
import textwrap
import time

from gankit.experiments import compare as compare_mod
from gankit.experiments import stats
from gankit.runs.curves import is_number
from gankit.runs.pages import Html, esc, head, number, png_data_uri, table
from gankit.store.grids import read_grid
from gankit.store.metrics import EVAL_PREFIX

LOSSES = ("d_loss", "g_loss")
PAGE_STYLE = ".err{color:#a00;font-size:.85em;max-width:40em;white-space:pre-wrap}"
MARKERS_UP_TO = 30  # points per line drawn with markers (so a single evaluation shows as a point)


def e(text) -> str:
    return esc(text)


def mpl_text(text) -> str:
    """Text for a matplotlib label: '$' would start mathtext (and fail on unbalanced input)."""
    return str(text).replace("$", r"\$")


def build_html(all_runs: list, data: dict) -> str:
    parts = [head(f"gankit compare: {len(all_runs)} runs", PAGE_STYLE),
             f"<h1>Comparison of {len(all_runs)} runs in {len(data['configs'])} configuration(s)</h1>",
             f"<p class=\"muted\">written {time.strftime('%Y-%m-%d %H:%M:%S')} · values are mean ± sd over seeds "
             f"(ddof 1) [95 % bootstrap interval of the mean], the sd at two significant figures; — = not logged</p>"]
    keys, best = data["differing_keys"], data.get("best")
    parts.append("<h2>Configurations</h2>")
    parts.append("<p>Recipe keys that differ between the configurations: " +
                 (", ".join(f"<code>{e(k)}</code>" for k in keys) if keys else "none") + ".</p>")
    if data.get("incidental_keys"):
        parts.append("<p class=\"muted\">Also differ, without making another configuration: " +
                     ", ".join(f"<code>{e(k)}</code>" for k in data["incidental_keys"]) + ".</p>")
    if best:
        word = "highest" if best["direction"] == "maximize" else "lowest"
        parts.append(f"<p>Best configuration: <strong>{best['config']}</strong> ({e(data['configs'][best['config'] - 1]['label'])}), "
                     f"the {word} mean final {e(best['metric'])}.</p>")
    rows = [[_number_cell(i, best)] + [compare_mod._short(c["config"][k]) for k in keys] +
            [str(len(c["runs"])), ", ".join(str(s) for s in c["seeds"])] for i, c in enumerate(data["configs"])]
    parts.append(table(rows, ["#"] + keys + ["runs", "seeds"]))
    parts.append("<h2>Metrics per configuration</h2>")
    parts.append(_summary_table(data))
    parts.append("<h2>Runs</h2>")
    parts.append(_runs_table(data))
    colours = _colours(len(data["configs"]))
    groups = _groups(all_runs, data)
    parts.append("<h2>Metrics over training</h2>")
    parts.append(_images([_curve_png(groups, colours, EVAL_PREFIX + m, m) for m in data["metrics"]],
                         "curve", "No evaluation rows logged."))
    parts.append("<h2>Losses</h2>")
    parts.append(_images([_curve_png(groups, colours, k, k, train=True) for k in LOSSES], "curve",
                         "No training rows logged."))
    parts.append("<h2>Last samples</h2>")
    parts.append(_grids(all_runs, data))
    for sw in data.get("sweeps", []):
        parts.append(_sweep(sw))
    parts.append("</body></html>\n")
    return "\n".join(parts)


# -- tables ----------------------------------------------------------------------------------
def _number_cell(i: int, best: dict | None):
    """A configuration's number, marked when it is the best one."""
    return Html(f"{i + 1}&nbsp;<strong class=\"best\">best</strong>") if best and best["config"] == i + 1 else str(i + 1)


def _summary_table(data: dict) -> str:
    if not data["metrics"]:
        return "<p>No run logged an evaluation (set trainer.eval_every).</p>"
    named = data.get("labels", {})
    head_row = ["#"] + [f"{w} {named.get(m, m)}" for m in data["metrics"] for w in ("final", "best")]
    rows = []
    for i, c in enumerate(data["configs"]):
        row = [_number_cell(i, data.get("best"))]
        for m in data["metrics"]:
            for w in ("final", "best"):
                s = c["metrics"][m][w]
                row.append((stats.fmt(_summary(s)), s["mean"]) if s else None)
        rows.append(row)
    note = [f"{c['label']}: {', '.join(c['excluded'])}" for c in data["configs"] if c.get("excluded")]
    left_out = (f"<p class=\"muted\">Left out of these numbers (trial pruned or failed): {e('; '.join(note))}</p>"
                if note else "")
    return table(rows, head_row) + left_out


def _summary(s: dict) -> stats.Summary:
    low, high = s["ci95"] or (None, None)
    return stats.Summary(s["n"], s["mean"], s["sd"], low, high, s["values"])


def _runs_table(data: dict) -> str:
    index = {name: i + 1 for i, c in enumerate(data["configs"]) for name in c["runs"]}
    described = len({r.get("description") or "" for r in data["runs"]}) > 1  # the same one says nothing here
    swept = any(r.get("sweep") for r in data["runs"])
    head_row = ["run", "config", "seed"] + (["trial state"] if swept else []) + \
        [f"final {m}" for m in data["metrics"]] + (["description"] if described else [])
    rows = [[r["name"], str(index.get(r["name"], "")), str(r["seed"])] + ([r.get("state") or "—"] if swept else []) +
            [(number(r["final"][m]), r["final"][m]) if r["final"][m] is not None else None for m in data["metrics"]] +
            ([r.get("description") or ""] if described else [])
            for r in data["runs"]]
    return table(rows, head_row)


# -- figures -----------------------------------------------------------------------------------
def _colours(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _groups(all_runs: list, data: dict) -> list[tuple[str, list]]:
    by_name = {r.name: r for r in all_runs}
    return [(f"{i + 1}: {c['label']}", [by_name[n] for n in c["runs"]]) for i, c in enumerate(data["configs"])]


def _curve_png(groups, colours, key: str, title: str, train: bool = False) -> str | None:
    """One panel: ``key`` against images seen, a line per configuration (mean over seeds) and its ± sd band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.4), dpi=100)
    drawn = False
    for (name, members), colour in zip(groups, colours):
        by_x: dict[int, list[float]] = {}
        for r in members:
            for row in (r.train if train else r.evals):
                v, step = row.get(key), row.get("step")
                if is_number(v) and is_number(step) and math.isfinite(v):
                    by_x.setdefault(int(step) * r.images_per_step, []).append(float(v))
        if not by_x:
            continue
        xs = sorted(by_x)
        mean = [sum(by_x[x]) / len(by_x[x]) for x in xs]
        ax.plot(xs, mean, color=colour, label=mpl_text(textwrap.shorten(name, 160)), lw=1.6,
                marker="o" if len(xs) <= MARKERS_UP_TO else None, markersize=5)
        sd = [stats.summarise(by_x[x]).sd or 0.0 for x in xs]
        if len(xs) == 1 and sd[0] > 0:  # a band needs two points: a bar
            ax.errorbar(xs, mean, yerr=sd, color=colour, capsize=3, lw=1)
        elif any(s > 0 for s in sd):
            ax.fill_between(xs, [m - s for m, s in zip(mean, sd)], [m + s for m, s in zip(mean, sd)],
                            color=colour, alpha=0.2, lw=0)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_title(mpl_text(title))
    ax.set_xlabel("images seen")
    ax.grid(alpha=0.3)
    # below the plot, where a long label covers no line (the figure grows to hold it)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [textwrap.fill(x, 90) for x in labels], fontsize=7, loc="upper left",
              bbox_to_anchor=(0, -0.2), frameon=False)
    return _png(fig)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return png_data_uri(buf.getvalue())


def _images(uris: list, cls: str, empty: str) -> str:
    uris = [u for u in uris if u]
    if not uris:
        return f"<p>{e(empty)}</p>"
    return "<div class=\"curves\">" + "".join(f"<img class=\"{cls}\" alt=\"{cls}\" src=\"{u}\">" for u in uris) + "</div>"


def _grids(all_runs: list, data: dict) -> str:
    index = {name: i + 1 for i, c in enumerate(data["configs"]) for name in c["runs"]}
    figs = []
    for r in all_runs:
        g = r.last_grid()
        png = read_grid(g) if g is not None else None
        if png is None:
            figs.append(f"<figure><figcaption>{e(r.name)}: no sample grid</figcaption></figure>")
            continue
        figs.append(f"<figure><img class=\"grid\" alt=\"last samples of {e(r.name)}\" "
                    f"src=\"{png_data_uri(png)}\"><figcaption>{e(r.name)} (config "
                    f"{index.get(r.name, '?')}, {e(g.stem)})</figcaption></figure>")
    return "<div class=\"grids\">" + "".join(figs) + "</div>"


# -- a sweep -------------------------------------------------------------------------------------
def _sweep(sw: dict) -> str:
    parts = [f"<h2>Sweep {e(sw['name'])}: {e(sw['metric'])} ({e(sw['direction'])})</h2>"]
    states = {}
    for t in sw["trials"]:
        states[t["state"]] = states.get(t["state"], 0) + 1
    parts.append("<p>" + e(", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "no trials") + "</p>")
    imp = sw["importance"]
    parts.append("<h3>Parameter importance</h3>")
    if isinstance(imp, dict):
        parts.append(table([[k, (f"{v:.3f}", v)] for k, v in imp.items()], ["parameter", "importance"]))
        parts.append(_images([_importance_png(imp)], "importance", ""))
    else:
        parts.append(f"<p class=\"muted\">{e(imp)}.</p>")
    parts.append("<h3>Optimisation history</h3>")
    parts.append(_images([_history_png(sw)], "history", "No finished trials yet."))
    parts.append("<h3>Trials</h3>")
    done = [t for t in sw["trials"] if t["state"] == "COMPLETE" and t["value"] is not None]
    top = (max if sw["direction"] == "maximize" else min)(done, key=lambda t: t["value"])["number"] if done else None
    rows = [[Html(f"{t['number']}&nbsp;<strong class=\"best\">best</strong>") if t["number"] == top else str(t["number"]),
             t["run"] or "—", t["state"],
             (number(t["value"]), t["value"]) if t["value"] is not None else None,
             ", ".join(f"{k}={compare_mod._short(v)}" for k, v in t["params"].items()),
             (t["error"] or "").strip().splitlines()[0][:300] if t["error"] else
             (f"pruned at step {t['pruned_at_step']}" if t["pruned_at_step"] is not None else "")]
            for t in sw["trials"]]
    parts.append(table(rows, ["trial", "run", "state", "value", "parameters", "note"]))
    return "\n".join(parts)


def _history_png(sw: dict) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [(t["number"], t["value"]) for t in sw["trials"] if t["state"] == "COMPLETE" and t["value"] is not None]
    if not done:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=100)
    xs, ys = zip(*done)
    ax.scatter(xs, ys, s=18, label="completed trial", color="#1f77b4")
    pick = min if sw["direction"] == "minimize" else max
    best, run = [], None
    for y in ys:
        run = y if run is None else pick(run, y)
        best.append(run)
    ax.step(xs, best, where="post", color="#d62728", label="best so far")
    for state, marker, colour in (("PRUNED", "x", "#7f7f7f"), ("FAIL", "v", "#ff7f0e")):
        pts = [(t["number"], list(t["intermediate"].values())[-1]) for t in sw["trials"]
               if t["state"] == state and t["intermediate"]]
        if pts:
            ax.scatter(*zip(*pts), marker=marker, color=colour, label=f"{state.lower()} (last report)")
    ax.set_xlabel("trial")
    ax.set_ylabel(mpl_text(sw["metric"]))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def _importance_png(imp: dict) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not imp:
        return None
    fig, ax = plt.subplots(figsize=(5, 0.5 + 0.4 * len(imp)), dpi=100)
    names = list(imp)[::-1]
    ax.barh([mpl_text(n) for n in names], [imp[n] for n in names], color="#1f77b4")
    ax.set_xlabel("importance (Optuna)")
    return _png(fig)
