"""One trial of a sweep: an ordinary ``gankit train`` run directory under ``SWEEP_DIR/runs/``.

The trial's training runs as a subprocess (``python -m gankit train ...``, or the sweep's
launcher, e.g. ``accelerate launch``, followed by ``-m gankit train ...``), so only the worker
talks to the study. The worker reads the run's ``metrics.jsonl`` as it grows, reports each
evaluation of the objective metric to the study, and stops the run with SIGTERM when the pruner
says so (the trainer saves a checkpoint and exits). The run directory's name comes from the
trial's parameters and seed, not its number: a trial run again after its worker died continues
the same directory with ``gankit train --resume``. A lock file held by the training process and
its worker keeps two workers out of one run directory.
"""
import contextlib
import ctypes
import fcntl
import functools
import hashlib
import json
import math
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from gankit.config import yaml_files
from gankit.errors import GankitError, printable
from gankit.experiments import progress
from gankit.experiments import space as space_mod
from gankit.store import intact
from gankit.store.files import METRICS_FILE, RECIPE_FILE
from gankit.store.metrics import read_metrics

RUNS_DIR, LOGS_DIR = "runs", "logs"
POLL_S = 0.5
MAX_NAME = 96


class TrialFailed(Exception):
    """A trial that ended without a usable objective value (its error is the trial's ``error`` attribute)."""


class Spare(TrialFailed):
    """A trial that found no work (another worker took the last queued one); nothing was run."""


@dataclass
class Context:
    """What every trial of a sweep shares."""

    recipe: str  # absolute path
    overrides: list[str]  # the user's key=value overrides (before the trial's parameters)
    space: space_mod.Space
    sweep_dir: Path
    base: object  # the recipe as swept (DictConfig), for overrides of list items
    launcher: list[str]
    study_name: str
    # the worker's progress lines: a trial's start, its run's rows as they come
    say: Callable[[str], None] = functools.partial(print, flush=True)
    planned: int | None = None  # the runs the sweep plans (configurations × seeds)


def run_name(values: dict, seed: int) -> str:
    """``lr-0.001_gamma-1_seed-0``: readable, and the same for the same parameters and seed."""
    short = {k: _short(k) for k in values}
    if len(set(short.values())) < len(short):  # two keys would look alike: keep them whole
        short = {k: k for k in values}
    parts = [f"{short[k]}-{_value(v)}" for k, v in sorted(values.items())] + [f"seed-{seed}"]
    name = re.sub(r"[^A-Za-z0-9._+-]+", "", "_".join(parts)) or "run"
    if len(name) > MAX_NAME or name != "_".join(parts):
        digest = hashlib.sha256(json.dumps([values, seed], sort_keys=True).encode()).hexdigest()[:8]
        name = f"{name[:MAX_NAME - 9]}-{digest}"
    return name


def _short(key: str) -> str:
    """``optim.g.lr`` → ``g.lr``, ``penalties.0.gamma`` → ``penalties.gamma``."""
    parts = [p for p in key.split(".") if not p.isdigit()] or [key]
    return ".".join(parts[-2:])


def _value(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def suggest(trial, sp: space_mod.Space) -> dict:
    """{param name: value} of this trial (fixed values for queued trials, the sampler's otherwise)."""
    out = {}
    for p in sp.params:
        if p.choices is not None:
            out[p.name] = trial.suggest_categorical(p.name, p.choices)
        elif p.integer:
            out[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        else:
            out[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return out


def command(ctx: Context, values: dict, seed: int, run_dir: Path) -> list[str]:
    """The ``gankit train`` command of a trial: resume its run directory where it has a checkpoint."""
    head = (ctx.launcher if ctx.launcher else [sys.executable]) + ["-m", "gankit", "train"]
    if (run_dir / RECIPE_FILE).is_file() and any(intact.problem(d, pickles=False) is None
                                                  for d in intact.step_dirs(run_dir)):
        return head + ["--resume", str(run_dir)]
    ovr = ctx.overrides + space_mod.overrides(ctx.base, ctx.space.assignment(values)) + [f"trainer.seed={seed}"]
    tail = ["--out", str(run_dir)] + (["--overwrite"] if run_dir.exists() and any(run_dir.iterdir()) else [])
    return head + [ctx.recipe] + ovr + tail


def objective_value(run_dir: Path, sp: space_mod.Space) -> float | None:
    """The objective of a finished run: its last (or best) evaluation of the metric."""
    key = f"eval/{sp.metric}"
    values = [r[key] for r in read_metrics(run_dir / METRICS_FILE).evals if isinstance(r.get(key), (int, float))]
    if not values:
        return None
    if sp.take == "last":
        return float(values[-1])
    finite = [v for v in values if math.isfinite(v)] or values
    return float(min(finite) if sp.direction == "minimize" else max(finite))


def run(trial, ctx: Context) -> float:
    """The objective of one Optuna trial."""
    import optuna

    sp = ctx.space
    values = suggest(trial, sp)
    seed = trial.user_attrs.get("seed")
    if seed is None:  # a fresh trial, not one queued with its seed
        _fresh(trial, ctx, values)
        seed = sp.seeds[0]
    name = run_name(values, seed)
    trial.set_user_attr("run", name)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    runs = ctx.sweep_dir / RUNS_DIR
    (ctx.sweep_dir / LOGS_DIR).mkdir(parents=True, exist_ok=True)
    runs.mkdir(parents=True, exist_ok=True)
    run_dir = runs / name
    with _locked(runs / f".{name}.lock") as lock_fd:
        done = [t.number for t in trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                if t.user_attrs.get("run") == name and t.number != trial.number]
        if done:
            _fail(trial, f"run {name} was already completed by trial {done[0]}; not run again.", duplicate_of=done[0])
        cmd = command(ctx, values, seed, run_dir)
        trial.set_user_attr("command", shlex.join(cmd))
        log_path = ctx.sweep_dir / LOGS_DIR / f"{name}.log"
        ctx.say(f"trial {trial.number} started: {name}, run {_run_count(trial.study)} of {ctx.planned or '?'} "
                f"(log: {log_path})")
        code, pruned_at = _train(trial, cmd, run_dir, log_path, lock_fd, ctx)
    if pruned_at is not None:
        trial.set_user_attr("pruned_at_step", pruned_at)
        raise optuna.TrialPruned(f"pruned at step {pruned_at}")
    if code != 0:
        _fail(trial, _error_text(log_path, code))
    value = objective_value(run_dir, sp)
    if value is None:
        _fail(trial, f"the run logged no eval/{sp.metric}; set trainer.eval_every and list {sp.metric} "
                     f"in the recipe's metrics (or change objective.metric).")
    if not math.isfinite(value):
        _fail(trial, f"eval/{sp.metric} is {value} (the run diverged).")
    return value


def _run_count(study) -> int:
    """How many runs of the sweep have started (a run tried again counts once)."""
    return len({t.user_attrs["run"] for t in study.get_trials(deepcopy=False) if "run" in t.user_attrs})


def _fresh(trial, ctx: Context, values: dict) -> None:
    """A trial the sampler made: its configuration gets the first seed here; the others are queued."""
    sp = ctx.space
    if sp.sampler == "grid":
        _fail(trial, "no queued trial was left (another worker took the last one); nothing was run.", spare=True)
    others = [t for t in trial.study.get_trials(deepcopy=False)
              if t.user_attrs.get("origin") == "sampled" and t.number != trial.number]
    if len(others) >= sp.trials:
        _fail(trial, f"all {sp.trials} configurations are sampled already; nothing was run.", spare=True)
    trial.set_user_attr("seed", sp.seeds[0])
    trial.set_user_attr("origin", "sampled")
    for s in sp.seeds[1:]:
        trial.study.enqueue_trial(values, user_attrs={"seed": s, "origin": "repeat"})


def _fail(trial, text: str, **attrs):
    trial.set_user_attr("error", text)
    for k, v in attrs.items():
        trial.set_user_attr(k, v)
    raise (Spare if attrs.get("spare") else TrialFailed)(text)


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (waits for a holder: a training process outliving its killed worker)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the worker dies (even by SIGKILL), so the run saves and stops."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _train(trial, cmd: list[str], run_dir: Path, log_path: Path, lock_fd: int, ctx: Context):
    """Run the training, reporting evaluations; returns (exit code, step it was pruned at or None)."""
    env = dict(os.environ, GANKIT_SWEEP=ctx.study_name, GANKIT_TRIAL=str(trial.number), GANKIT_RUN=run_dir.name)
    metric_key, reported, pruned_at = f"eval/{ctx.space.metric}", set(), None
    said: set = set()  # (step, kind) of the metrics.jsonl rows said so far
    with open(log_path, "ab") as log:
        log.write(f"\n$ {shlex.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, pass_fds=(lock_fd,),
                                start_new_session=True, preexec_fn=_die_with_parent)
        try:
            while True:
                code = proc.poll()
                log = read_metrics(run_dir / METRICS_FILE)  # once a poll: said, and reported to the pruner
                progress.say_rows(trial.number, run_dir, log, said, ctx.say)
                for step, value in _new_evals(log, metric_key, reported):
                    trial.report(value, step)
                    budget = _max_steps(run_dir)
                    if pruned_at is None and (budget is None or step < budget) and trial.should_prune():
                        pruned_at = step
                        _signal(proc, signal.SIGTERM)
                if code is not None:
                    # a run that finished before it got the signal was not pruned
                    return code, (pruned_at if code != 0 else None)
                time.sleep(POLL_S)
        except BaseException:  # the worker is stopped (Ctrl-C, SIGTERM): the run saves a checkpoint and stops
            _signal(proc, signal.SIGTERM)
            with contextlib.suppress(Exception):
                proc.wait(timeout=120)
                trial.set_user_attr("interrupted", True)
            raise


def _max_steps(run_dir: Path) -> int | None:
    """The run's step budget when its recipe sets ``trainer.max_steps`` (no pruning at the last step)."""
    try:
        t = yaml_files.read(run_dir / RECIPE_FILE, "sweep").get("trainer") or {}
        return int(t["max_steps"]) if t.get("max_steps") else None
    except (OSError, AttributeError, ValueError, TypeError, KeyError, yaml.YAMLError, GankitError):
        return None


def _new_evals(log, key: str, reported: set) -> list[tuple[int, float]]:
    """(step, value) of each evaluation row of ``log`` (``read_metrics``) not reported yet."""
    out = []
    for r in log.evals:
        step, v = r.get("step"), r.get(key)
        if isinstance(step, int) and isinstance(v, (int, float)) and step not in reported:
            reported.add(step)
            if math.isfinite(v):
                out.append((step, float(v)))
    return out


def _signal(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the launcher and every process it started


def _error_text(log_path: Path, code: int) -> str:
    """The run's own error message from its log (gankit's one-paragraph error), else its last lines."""
    lines = printable(log_path.read_text(encoding="utf-8", errors="replace")).splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("gankit: error:")]
    if errors:
        text = "\n".join(lines[errors[-1]:errors[-1] + 12])
    else:
        text = "\n".join(line for line in lines[-12:] if line.strip())
    what = {143: "stopped by SIGTERM", 130: "stopped by SIGINT", -9: "killed (SIGKILL)"}.get(code, f"exit code {code}")
    return f"{what}: {text.strip()}"[:4000]
