"""A sweep worker: take queued trials from the study and run them until the sweep is done.

``start`` makes a sweep folder and its study (every grid configuration × seed queued up front),
``join`` opens an existing study (another worker, on this machine or another), ``resume`` opens
a sweep folder's study and queues again what was interrupted. ``work`` is one worker's loop: it
runs trials while any are queued (or, for random/TPE, while configurations are left to sample),
then waits for trials other workers still run — a trial whose worker died is marked failed after
three missed heartbeats and queued again, and this worker takes it.
"""
import functools
import signal
import time
import warnings
from pathlib import Path

from gankit.errors import GankitError, printable
from gankit.experiments import progress
from gankit.experiments import space as space_mod
from gankit.experiments import study as study_mod
from gankit.experiments import trial as trial_mod


def start(recipe: str, space_path: str, sweep_dir: str | Path | None, storage: str | None, overrides: list[str],
          launcher: list[str]):
    """A new sweep folder and study; returns (study, info)."""
    raw = space_mod.read(space_path)
    sp = space_mod.parse(raw, str(space_path))
    space_mod.check_against(sp, recipe, overrides, str(space_path))
    sweep_dir = Path(sweep_dir if sweep_dir is not None else Path("sweeps") / f"{Path(recipe).stem}-"
                     f"{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    if (sweep_dir / study_mod.SWEEP_FILE).exists():
        raise GankitError(f"--out: {sweep_dir} already holds a sweep. Continue it with gankit sweep --resume "
                          f"{sweep_dir}, or choose another --out.")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    url = storage or study_mod.default_url(sweep_dir)
    name = sweep_dir.name
    info = {"recipe": str(Path(recipe).resolve()), "overrides": list(overrides), "space": raw,
            "sweep_dir": str(sweep_dir), "launcher": list(launcher)}
    study = study_mod.create(url, name, info, sp.heartbeat)
    if sp.sampler == "grid":
        for seed in sp.seeds:  # every configuration's first seed before any second one
            for values in sp.grid():
                study.enqueue_trial(values, user_attrs={"seed": seed, "origin": "grid"})
    study_mod.write_sweep_file(sweep_dir, url, name)
    return study, info


def join(url: str, name: str | None = None, sweep_dir: str | Path | None = None, launcher: list[str] | None = None):
    study, info = study_mod.load(url, name)
    if sweep_dir is not None:
        info = {**info, "sweep_dir": str(Path(sweep_dir).resolve())}
    if launcher:
        info = {**info, "launcher": list(launcher)}
    Path(info["sweep_dir"]).mkdir(parents=True, exist_ok=True)
    return study, info


def resume(sweep_dir: str | Path, launcher: list[str] | None = None):
    ref = study_mod.read_sweep_file(sweep_dir)
    study, info = join(ref["storage"], ref["study"], sweep_dir, launcher)
    requeue(study, space_mod.parse(info["space"]))
    return study, info


def requeue(study, sp: space_mod.Space) -> list[tuple]:
    """Queue again every (configuration, seed) that has no live or finished trial and whose last
    trial was interrupted (worker stopped) rather than failed on its own; returns them."""
    from optuna.trial import TrialState

    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    by_run: dict[str, list] = {}
    for t in study.get_trials(deepcopy=False):
        params = t.params or t.system_attrs.get("fixed_params") or {}  # a queued trial has only fixed params
        if "seed" in t.user_attrs and all(p.name in params for p in sp.params):
            name = trial_mod.run_name({p.name: params[p.name] for p in sp.params}, t.user_attrs["seed"])
            by_run.setdefault(name, []).append(t)
    queued = []
    for run, ts in by_run.items():
        if any(t.state in live for t in ts):
            continue
        last = ts[-1]
        if last.state == TrialState.FAIL and (last.user_attrs.get("interrupted") or "error" not in last.user_attrs):
            values = {p.name: last.params[p.name] for p in sp.params if p.name in last.params}
            study.enqueue_trial(values, user_attrs={"seed": last.user_attrs["seed"], "origin": "requeued"})
            queued.append((run, last.number))
    return queued


def work(study, info: dict, say=functools.partial(print, flush=True)) -> dict:
    """Run trials until the sweep is done; returns the count of trials per state."""
    import optuna
    from optuna.trial import TrialState

    sp = space_mod.parse(info["space"])
    base = space_mod.check_against(sp, info["recipe"], info["overrides"])
    ctx = trial_mod.Context(info["recipe"], list(info["overrides"]), sp, Path(info["sweep_dir"]), base,
                            list(info.get("launcher") or []), study.study_name, say=say, planned=planned(sp))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    old = signal.signal(signal.SIGTERM, _interrupt)  # a stopped worker stops its run cleanly (checkpoint)
    try:
        while True:
            optuna.storages.fail_stale_trials(study)  # trials of dead workers: failed and queued again
            trials = study.get_trials(deepcopy=False)
            if _work_left(trials, sp):
                try:
                    study.optimize(lambda t: trial_mod.run(t, ctx), n_trials=1, catch=(trial_mod.TrialFailed,),
                                   callbacks=[_announce(say)])
                except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as e:
                    if isinstance(e, ValueError) and "Cannot tell" not in str(e):
                        raise
                    # this worker was thought dead (missed heartbeats) and its trial was given to another
                    say(f"note: a trial of this worker was taken over by another worker ({e}).")
                continue
            if not any(t.state == TrialState.RUNNING for t in trials):
                break
            time.sleep(sp.heartbeat)  # others still run trials; one may turn out dead and come back
    finally:
        signal.signal(signal.SIGTERM, old)
    return counts(study)


def _work_left(trials, sp) -> bool:
    from optuna.trial import TrialState

    if any(t.state == TrialState.WAITING for t in trials):
        return True
    return sp.sampler != "grid" and sum(t.user_attrs.get("origin") == "sampled" for t in trials) < sp.trials


def planned(sp) -> int | None:
    """The runs a sweep plans: every grid configuration, or the sampler's ``trials``, times the seeds."""
    configs = len(sp.grid()) if sp.sampler == "grid" else sp.trials
    return configs * len(sp.seeds) if configs else None


def counts(study) -> dict:
    out: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("spare"):
            continue
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def _announce(say):
    def callback(study, t):
        if t.user_attrs.get("spare"):
            return
        what = {"COMPLETE": f"{t.value:.6g}" if t.value is not None else "done",
                "PRUNED": f"pruned at step {t.user_attrs.get('pruned_at_step')}",
                "FAIL": f"failed: {str(t.user_attrs.get('error', '')).splitlines()[0][:200] if t.user_attrs.get('error') else ''}"}
        say(printable(f"trial {t.number} {t.user_attrs.get('run', '')}: {what.get(t.state.name, t.state.name)}; "
                      f"{progress.best_so_far(study)}"))
    return callback


def _interrupt(signum, frame):
    raise KeyboardInterrupt
