"""Kill anywhere, resume exactly: a run SIGKILLed at random moments (in a step, an evaluation, a
sample grid, a log row, a checkpoint save, publishing the best, loading, the report, the recipe
write) and resumed after each kill ends bit-identical to an uninterrupted run of the same recipe:
weights, EMA, optimizer states, counters, the best checkpoint, metrics.jsonl rows and sample grids.
After every kill the newest checkpoint is intact (every file complete and loadable)."""
import json
import random
import signal
import time
from pathlib import Path

import pytest

from gankit.store import checkpoints as ckpt
from gankit.store import intact
from gankit.store.metrics import read_metrics
from gankit.store.state import read as read_state

from .chaos import Plan, child, forkserver
from .helpers import HERE, assert_identical, load_checkpoint

RECIPE = HERE / "recipes" / "chaos.yaml"
STEPS = 32  # trainer.max_steps of chaos.yaml
KILLS = 30
AFTER = 5  # of which after the last step (the report, the recipe write, loading)
BACKSTOP = 6  # steps a process may enter before the mid-run kill
SEED = 20261201
# point → how many entries into it a plan may let pass before the kill (per process)
NTH = {"step": 8, "log": 8, "grid": 2, "eval": 2, "save": 2, "best": 1, "load": 1, "recipe": 1}
AFTER_THE_END = ("report", "report", "recipe", "load")  # what a resume of a finished run still goes through
DELAY = {"save": 0.03, "best": 0.01, "report": 0.5}  # seconds a kill may come after entering the point (else 4 ms)
TIMING = {"images_per_s", "time_s", "eval/eval_s"}


def _start(ctx, argv, plan, progress, cache):
    p = ctx.Process(target=child, args=([str(a) for a in argv], plan, str(progress), str(cache)))
    p.start()
    p.join(timeout=120)
    if p.is_alive():
        p.kill()
        pytest.fail(f"{argv} with {plan}: still running after 120 s")
    return p.exitcode


def _argv(run: Path) -> list:
    if not intact.step_dirs(run):  # killed before its first checkpoint: what the resume error says to do
        return ["train", RECIPE, "--out", run, "--overwrite"]
    return ["train", "--resume", run]


def _plan(rng: random.Random, finished: bool) -> Plan:
    """A random point, entry and delay; before the end, also a kill on entering step BACKSTOP of
    this process (so no process runs to the end while kills are still planned)."""
    if finished:
        point = rng.choice(AFTER_THE_END)
        return Plan(point, 1, rng.uniform(0.0, DELAY.get(point, 0.004)))
    point = rng.choice(sorted(NTH))
    return Plan(point, rng.randint(1, NTH[point]), rng.uniform(0.0, DELAY.get(point, 0.004)), steps=BACKSTOP)


def _finished(run: Path) -> bool:
    last = ckpt.latest(run)
    return last is not None and read_state(last).step == STEPS


def _rows(run: Path) -> dict:
    log = read_metrics(run / "metrics.jsonl")
    assert log.bad == 0, "a metrics.jsonl line was cut short"
    rows = {}
    for kind, group in (("train", log.train), ("eval", log.evals)):
        for r in group:
            rows[kind, r["step"]] = {k: v for k, v in r.items() if k not in TIMING}
    return rows


def _grids(run: Path) -> dict:
    return {p.name: p.read_bytes() for p in (run / "samples").iterdir()}


@pytest.mark.slow
@pytest.mark.long  # chaos: 30 kills and resumes; `pytest -m long`, .ci/run
def test_kill_anywhere_and_resume_ends_bit_identical(tmp_path):
    ctx, rng = forkserver(), random.Random(SEED)
    ref, run = tmp_path / "ref", tmp_path / "run"
    t0 = time.monotonic()
    assert _start(ctx, ["train", RECIPE, "--out", ref], None, tmp_path / "ref.steps", tmp_path / "cache-ref") == 0
    t_ref = time.monotonic() - t0

    t0, kills, points, argv = time.monotonic(), 0, {}, ["train", RECIPE, "--out", run]
    while kills < KILLS:
        finished = _finished(run)
        plan = None if not finished and kills >= KILLS - AFTER else _plan(rng, finished)  # None: run to the end
        code = _start(ctx, argv, plan, tmp_path / "run.steps", tmp_path / "cache-run")
        assert code in (0, -signal.SIGKILL), f"{argv} with {plan}: exit code {code}"
        if code == -signal.SIGKILL:
            kills += 1
            points[plan.point] = points.get(plan.point, 0) + 1
            latest = ckpt.latest(run)  # a kill never leaves a damaged checkpoint behind
            assert latest is None or intact.problem(latest) is None, (plan, intact.problem(latest))
        argv = _argv(run)
    assert _start(ctx, ["train", "--resume", run], None, tmp_path / "run.steps", tmp_path / "cache-run") == 0
    wall = time.monotonic() - t0
    steps_run = len((tmp_path / "run.steps").read_text().split())
    print(f"\nchaos: {kills} kills ({', '.join(f'{k} {v}' for k, v in sorted(points.items()))}), "
          f"{steps_run - STEPS} steps redone of {steps_run} run, {wall:.1f} s (uninterrupted run: {t_ref:.1f} s)")

    assert _finished(run) and _finished(ref)
    assert_identical(load_checkpoint(ckpt.latest(ref)), load_checkpoint(ckpt.latest(run)))
    assert_identical(load_checkpoint(ckpt.best(ref)), load_checkpoint(ckpt.best(run)), "best")
    assert json.loads((ckpt.best(ref) / "best.json").read_text()) == json.loads((ckpt.best(run) / "best.json").read_text())
    assert _rows(run) == _rows(ref)
    assert _grids(run) == _grids(ref)
    assert (run / "report.html").is_file() and (run / "curves.png").is_file()
    left = [p.name for p in run.rglob("*") if p.name.startswith((".", intact.DAMAGED))]
    assert left == [], f"left behind: {left}"
