"""The HTML page of ``gankit compare``: one self-contained file (every image embedded as PNG).

Tables of the configurations and their numbers over seeds, each run's own final numbers,
metric-versus-images-seen curves with a band of ± one sd over seeds, loss curves, the last
sample grid of every run, and for a sweep the parameter importance, the optimisation history
and its trials. Every text that comes from recipes, run names or metric keys is escaped.
"""
import html
import io
import math
import time

from gankit.experiments import compare as compare_mod
from gankit.experiments import stats
from gankit.runs.curves import is_number
from gankit.runs.report import STYLE, _png_data_uri
from gankit.store.metrics import EVAL_PREFIX

LOSSES = ("d_loss", "g_loss")
PAGE_STYLE = STYLE + """
table.num td{font-variant-numeric:tabular-nums} td.missing{color:#999;text-align:center}
.err{color:#a00;font-size:.85em;max-width:40em;white-space:pre-wrap}
"""


def e(text) -> str:
    return html.escape(str(text), quote=True)


def mpl_text(text) -> str:
    """Text for a matplotlib label: '$' would start mathtext (and fail on unbalanced input)."""
    return str(text).replace("$", r"\$")


def build_html(all_runs: list, data: dict) -> str:
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>gankit compare: "
             f"{len(all_runs)} runs</title><style>{PAGE_STYLE}</style></head><body>",
             f"<h1>Comparison of {len(all_runs)} runs in {len(data['configs'])} configuration(s)</h1>",
             f"<p class=\"muted\">written {time.strftime('%Y-%m-%d %H:%M:%S')} · values are mean ± sd over seeds "
             f"(ddof 1) [95 % bootstrap interval of the mean]; — = not logged</p>"]
    keys = data["differing_keys"]
    parts.append("<h2>Configurations</h2>")
    parts.append("<p>Recipe keys that differ between the runs: " +
                 (", ".join(f"<code>{e(k)}</code>" for k in keys) if keys else "none") + ".</p>")
    rows = [[str(i + 1)] + [compare_mod._short(c["config"][k]) for k in keys] +
            [str(len(c["runs"])), ", ".join(str(s) for s in c["seeds"])] for i, c in enumerate(data["configs"])]
    parts.append(_table(["#"] + keys + ["runs", "seeds"], rows))
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
def _table(head: list, rows: list[list], cls: str = "num") -> str:
    h = "".join(f"<th>{e(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(_td(x) for x in r) + "</tr>" for r in rows)
    return f"<table class=\"{cls}\"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _td(x) -> str:
    if isinstance(x, tuple):  # (shown text, exact value)
        text, value = x
        return f"<td data-value=\"{e(repr(value))}\">{e(text)}</td>" if value is not None else \
            "<td class=\"missing\">—</td>"
    return "<td class=\"missing\">—</td>" if x in (None, "—") else f"<td>{e(x)}</td>"


def _summary_table(data: dict) -> str:
    if not data["metrics"]:
        return "<p>No run logged an evaluation (set trainer.eval_every).</p>"
    head = ["#"] + [f"{w} {m}" for m in data["metrics"] for w in ("final", "best")]
    rows = []
    for i, c in enumerate(data["configs"]):
        row = [str(i + 1)]
        for m in data["metrics"]:
            for w in ("final", "best"):
                s = c["metrics"][m][w]
                row.append((stats.fmt(_summary(s)), s["mean"]) if s else None)
        rows.append(row)
    note = [f"{c['label']}: {', '.join(c['excluded'])}" for c in data["configs"] if c.get("excluded")]
    left_out = (f"<p class=\"muted\">Left out of these numbers (trial pruned or failed): {e('; '.join(note))}</p>"
                if note else "")
    return _table(head, rows) + left_out


def _summary(s: dict) -> stats.Summary:
    low, high = s["ci95"] or (None, None)
    return stats.Summary(s["n"], s["mean"], s["sd"], low, high, s["values"])


def _runs_table(data: dict) -> str:
    index = {name: i + 1 for i, c in enumerate(data["configs"]) for name in c["runs"]}
    head = ["run", "config", "seed", "trial state"] + [f"final {m}" for m in data["metrics"]]
    rows = [[r["name"], str(index.get(r["name"], "")), str(r["seed"]), r.get("state") or "—"] +
            [(f"{r['final'][m]:.6g}", r["final"][m]) if r["final"][m] is not None else None for m in data["metrics"]]
            for r in data["runs"]]
    return _table(head, rows)


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
        ax.plot(xs, mean, color=colour, label=mpl_text(name[:60]), lw=1.6)
        sd = [stats.summarise(by_x[x]).sd or 0.0 for x in xs]
        if any(s > 0 for s in sd):
            ax.fill_between(xs, [m - s for m, s in zip(mean, sd)], [m + s for m, s in zip(mean, sd)],
                            color=colour, alpha=0.2, lw=0)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_title(mpl_text(title))
    ax.set_xlabel("images seen")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return _png_data_uri(buf.getvalue())


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
        if g is None:
            figs.append(f"<figure><figcaption>{e(r.name)}: no sample grid</figcaption></figure>")
            continue
        figs.append(f"<figure><img class=\"grid\" alt=\"last samples of {e(r.name)}\" "
                    f"src=\"{_png_data_uri(g.read_bytes())}\"><figcaption>{e(r.name)} (config "
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
        parts.append(_table(["parameter", "importance"], [[k, (f"{v:.3f}", v)] for k, v in imp.items()]))
        parts.append(_images([_importance_png(imp)], "importance", ""))
    else:
        parts.append(f"<p class=\"muted\">{e(imp)}.</p>")
    parts.append("<h3>Optimisation history</h3>")
    parts.append(_images([_history_png(sw)], "history", "No finished trials yet."))
    parts.append("<h3>Trials</h3>")
    rows = [[str(t["number"]), t["run"] or "—", t["state"],
             (f"{t['value']:.6g}", t["value"]) if t["value"] is not None else None,
             ", ".join(f"{k}={compare_mod._short(v)}" for k, v in t["params"].items()),
             (t["error"] or "").strip().splitlines()[0][:300] if t["error"] else
             (f"pruned at step {t['pruned_at_step']}" if t["pruned_at_step"] is not None else "")]
            for t in sw["trials"]]
    parts.append(_table(["trial", "run", "state", "value", "parameters", "note"], rows))
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
