"""The numbers of ``gankit compare``: per configuration, the final and best value of every
evaluation metric over its seeds, and for a sweep its trials and parameter importance.

``table(runs)`` gives plain data (what ``--json`` prints); ``markdown`` renders it as tables.
Best is the lowest value, or the highest for metrics where higher is better (``HIGHER_BETTER``).
"""
import json
import math

from gankit.errors import GankitError
from gankit.experiments import runs as runs_mod
from gankit.experiments import stats
from gankit.experiments import study as study_mod
from gankit.runs.curves import SKIP_EVAL, is_number
from gankit.runs.pages import metric_name, number
from gankit.store.metrics import EVAL_PREFIX

HIGHER_BETTER = ("classifier_score", "modes", "precision", "recall", "density", "coverage", "label_agreement",
                 "inception_score")


def higher_is_better(metric: str) -> bool:
    return metric in HIGHER_BETTER


def metric_names(all_runs: list) -> list[str]:
    """Every evaluation metric any run logged, in sorted order (without the ``eval/`` prefix)."""
    return sorted({k.removeprefix(EVAL_PREFIX) for r in all_runs for row in r.evals for k, v in row.items()
                   if k.startswith(EVAL_PREFIX) and k not in SKIP_EVAL and is_number(v)})


def run_values(run, metric: str) -> tuple[float | None, float | None, int | None]:
    """(final, best, step of final) of one metric of one run; None where it never logged it."""
    key = EVAL_PREFIX + metric
    pts = [(r["step"], float(r[key])) for r in run.evals if is_number(r.get(key)) and is_number(r.get("step"))]
    if not pts:
        return None, None, None
    finite = [v for _, v in pts if math.isfinite(v)]
    best = (max(finite) if higher_is_better(metric) else min(finite)) if finite else None
    return pts[-1][1], best, pts[-1][0]


def table(all_runs: list, sweeps: list | None = None, metrics: list[str] | None = None) -> dict:
    """Configurations with their seeds' numbers; the keys that differ; runs; sweeps.
    ``metrics``: the metrics to show, in this order (default: every metric logged)."""
    logged = metric_names(all_runs)
    unknown = [m for m in metrics or [] if m not in logged]
    if unknown:
        raise GankitError(f"--metrics: {', '.join(unknown)} not logged by these runs; they logged "
                          f"{', '.join(logged) or 'no evaluation metric'}.")
    metrics = list(metrics) if metrics else logged
    sweep_data = [sweep_summary(p) for p in sweeps or []]
    states = {(sw["path"], t["run"]): t["state"] for sw in sweep_data for t in sw["trials"] if t["run"]}
    for r in all_runs:  # a run's state is that of its latest trial (a retried trial comes later)
        r.trial = {"state": states.get((str(r.path.parent.parent), r.name))} if r.sweep else {}
    configs = []
    for values, members in runs_mod.group(all_runs):
        counted = [r for r in members if r.trial.get("state") in (None, "COMPLETE")]
        entry = {"config": values, "label": label(values), "runs": [r.name for r in members],
                 "paths": [str(r.path) for r in members], "seeds": [r.seed for r in members], "metrics": {},
                 "excluded": [r.name for r in members if r not in counted]}
        for m in metrics:
            finals, bests = zip(*[run_values(r, m)[:2] for r in counted]) if counted else ((), ())
            f, b = stats.summarise(finals), stats.summarise(bests)
            entry["metrics"][m] = {"final": f.as_dict() if f else None, "best": b.as_dict() if b else None,
                                   "missing": sum(v is None for v in finals)}
        configs.append(entry)
    objective = (sweep_data[0]["metric"], sweep_data[0]["direction"]) if len(sweep_data) == 1 else None
    out = {"differing_keys": runs_mod.differing_keys(all_runs), "incidental_keys": runs_mod.incidental_keys(all_runs),
           "metrics": metrics, "labels": {m: labels(all_runs, m) for m in metrics}, "configs": configs, "best": best_config(configs, metrics, objective),
           "runs": [{"name": r.name, "path": str(r.path), "seed": r.seed, "sweep": r.sweep,
                     "description": r.recipe.get("description") if isinstance(r.recipe.get("description"), str) else None,
                     "state": r.trial.get("state"),
                     "final": {m: run_values(r, m)[0] for m in metrics}, "best": {m: run_values(r, m)[1]
                                                                               for m in metrics}}
                    for r in all_runs]}
    if sweep_data:
        out["sweeps"] = sweep_data
    return out


def labels(all_runs: list, metric: str) -> str:
    """What a metric is in these runs (``fd (lenet_mnist, 10k vs 10k)``, as their eval rows say); runs that
    measured it differently are all named, so two feature spaces never read as one number."""
    said = list(dict.fromkeys(metric_name(r.evals, metric) for r in all_runs if any(EVAL_PREFIX + metric in row
                                                                                      for row in r.evals)))
    return " / ".join(said) or metric


def best_config(configs: list[dict], metrics: list[str], objective: tuple[str, str] | None = None) -> dict | None:
    """The configuration (numbered from 1) with the best mean final value of the sweep's objective metric, or
    else of the first metric shown; None when no configuration has a value of it."""
    metric, direction = objective if objective and objective[0] in metrics else (
        (metrics[0], "maximize" if higher_is_better(metrics[0]) else "minimize") if metrics else (None, None))
    scored = [(c["metrics"][metric]["final"]["mean"], i + 1) for i, c in enumerate(configs)
              if metric and c["metrics"][metric]["final"]]
    if not scored:
        return None
    value, config = (max if direction == "maximize" else min)(scored, key=lambda s: s[0])
    return {"metric": metric, "direction": direction, "config": config, "final": value}


def label(values: dict) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in values.items()) or "(one configuration)"


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)


# -- sweeps --------------------------------------------------------------------------------
def sweep_summary(sweep_dir) -> dict:
    """A sweep's study: trials (number, run, state, value, params, error) and parameter importance."""
    ref = study_mod.read_sweep_file(sweep_dir)
    study, info = study_mod.load(ref["storage"], ref["study"])
    trials = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("spare"):
            continue
        trials.append({"number": t.number, "run": t.user_attrs.get("run"), "seed": t.user_attrs.get("seed"),
                       "state": t.state.name, "value": t.value, "params": dict(t.params),
                       "error": t.user_attrs.get("error"), "pruned_at_step": t.user_attrs.get("pruned_at_step"),
                       "intermediate": {str(k): v for k, v in sorted(t.intermediate_values.items())}})
    return {"name": study.study_name, "path": str(sweep_dir), "direction": study.direction.name.lower(),
            "metric": info["space"].get("objective", {}).get("metric", "fd"), "trials": trials,
            "importance": importance(study)}


def importance(study) -> dict | str:
    """Optuna's parameter importance of the study ({param: share}), or why there is none."""
    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varied = sorted({k for t in done for k in t.params if len({json.dumps(u.params.get(k)) for u in done}) > 1})
    if len(done) < 2 or not varied:
        return "needs at least two completed trials that differ in a parameter"
    try:  # a parameter with one value explains nothing: only those that varied are weighed
        return {k: float(v) for k, v in optuna.importance.get_param_importances(study, params=varied).items()}
    except (RuntimeError, ValueError, ZeroDivisionError) as e:
        return f"not computable here ({e})"


# -- markdown --------------------------------------------------------------------------------
def markdown(data: dict, per_seed: bool = False) -> str:
    """The tables as Markdown; ``per_seed`` adds each run's final values (one row per seed)."""
    lines = ["# Comparison", ""]
    keys = data["differing_keys"]
    lines.append("Recipe keys that differ: " + (", ".join(f"`{k}`" for k in keys) if keys else "none") + ".")
    lines.append("")
    named = data.get("labels", {})
    head = ["configuration", "seeds"] + [f"{w} {_md(named.get(m, m))}" for m in data["metrics"] for w in ("final", "best")]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in data["configs"]:
        cells = [_md(c["label"]), str(len(c["runs"]))]
        for m in data["metrics"]:
            for w in ("final", "best"):
                s = c["metrics"][m][w]
                cells.append(stats.fmt(stats.Summary(s["n"], s["mean"], s["sd"], *(s["ci95"] or (None, None)),
                                                     s["values"])) if s else "—")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Values: mean ± sd over seeds [95 % bootstrap interval of the mean], the sd at two significant "
                  "figures; — = not logged. Pruned and failed trials are left out of these numbers.", ""]
    best = data.get("best")
    if best:
        word = "highest" if best["direction"] == "maximize" else "lowest"
        lines += [f"Best configuration: {_md(data['configs'][best['config'] - 1]['label'])} (the {word} mean final "
                  f"{best['metric']}).", ""]
    if per_seed:
        finals = {r["path"]: r for r in data["runs"]}
        head = ["configuration", "seed", "run"] + [f"final {_md(named.get(m, m))}" for m in data["metrics"]]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in data["configs"]:
            for path, name, seed in sorted(zip(c["paths"], c["runs"], c["seeds"]), key=lambda t: str(t[2])):
                vals = finals[path]["final"]
                lines.append("| " + " | ".join([_md(c["label"]), str(seed), _md(name)] + [
                    "—" if vals[m] is None else format(vals[m], ".4g") for m in data["metrics"]]) + " |")
        lines.append("")
    for sw in data.get("sweeps", []):
        lines += [f"## Sweep {_md(sw['name'])}", ""]
        imp = sw["importance"]
        if isinstance(imp, dict):
            lines += ["| parameter | importance |", "|---|---|"] + [f"| {_md(k)} | {v:.3f} |" for k, v in imp.items()]
        else:
            lines.append(f"Parameter importance: {imp}.")
        lines += ["", "| trial | run | state | value |", "|---|---|---|---|"]
        lines += [f"| {t['number']} | {_md(t['run'] or '—')} | {t['state']} | "
                  f"{'—' if t['value'] is None else number(t['value'])} |" for t in sw["trials"]]
        lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
