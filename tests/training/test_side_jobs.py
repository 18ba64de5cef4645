"""Side jobs: the built-in ones in order, a plugin's side job and stateful penalty through a run and a resume."""
import json
import os
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gankit.config import recipe, validate
from gankit.config.registry import SIDE_JOBS
from gankit.errors import GankitError
from gankit.store import checkpoints as ckpt
from gankit.store import state as state_file
from gankit.training.side_jobs import Checkpoints, Evaluation, MetricsRow, SampleGrid, SideJob, Stop, Tick, lineup
from gankit.training.trainer import Trainer

PLUGIN = Path(__file__).parent / "plugins" / "stateful_parts.py"
# BatchNorm- and dropout-free models, a few seconds a run
SMALL = ["generator.name=mlp", "generator.batch_norm=false", "generator.hidden=[32]", "discriminator.name=mlp",
         "discriminator.dropout=0.0", "discriminator.hidden=[32]", "trainer.batch_size=16", "data.size=128",
         "trainer.num_grid=4", f"plugins=[{PLUGIN}]"]
WITH_PARTS = ["penalties=[{name: decaying_r1, gamma: 5.0}]", "side_jobs=[{name: step_log, every: 2}]"]


def _cfg(tiny_recipe, *overrides):
    return recipe.load(tiny_recipe, [*SMALL, *overrides])


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _weights(tr) -> list[torch.Tensor]:
    return [p.detach().clone() for m in (tr.G, tr.D) for p in tr.acc.unwrap_model(m).parameters()]


def test_the_built_in_side_jobs_run_in_order_with_the_recipes_own_between(tiny_recipe, tmp_path):
    tr = Trainer(_cfg(tiny_recipe, *WITH_PARTS, "trainer.eval_every=3", "eval.num_samples=16",
                      "metrics=[{name: fd, features: lenet_mnist}]"), tmp_path / "run")
    with tr.logbook() as log:
        jobs = [type(j).__name__ for j in lineup(tr, log)]
    assert jobs == ["MetricsRow", "RealGrid", "SampleGrid", "Evaluation", "StepLog", "Checkpoints", "Stop"]
    assert list(tr.side_jobs) == ["side_jobs.step_log"] and "side_jobs.step_log" in tr.stateful


def test_when_the_built_in_side_jobs_are_due():
    class Log:
        def due(self, step, last):
            return step % 2 == 0 or last

        def samples_due(self, step, last):
            return step % 3 == 0 or last

    class Ckpt:
        def due(self, step, last):
            return step % 5 == 0 or last

    def due(job, steps=range(1, 11)):
        return [k for k in steps if job.due(Tick().at(k, last=k == 10))]

    assert due(MetricsRow(Log())) == [2, 4, 6, 8, 10] and due(SampleGrid(Log())) == [3, 6, 9, 10]
    assert due(Evaluation(Log(), 4)) == [4, 8, 10] and due(Stop(Log())) == list(range(1, 11))
    assert due(Checkpoints(Ckpt())) == [5, 10]
    best = Tick().at(3, last=False)
    best.best = {"metric": "fd", "value": 1.0, "step": 3}
    assert Checkpoints(Ckpt()).due(best)  # an evaluation's new best forces a checkpoint
    with pytest.raises(GankitError, match=r"side_jobs\[1\].every: side job 'snapshot' rejected its arguments \(every=0\)"
                                          r": ValueError: every must be a whole number of steps ≥ 1, got 0"):
        SIDE_JOBS.build({"name": "snapshot", "every": 0}, "side_jobs[1]")


def test_a_plugin_side_job_runs_at_its_due_steps_and_a_stateful_penalty_resumes_exactly(tiny_recipe, tmp_path):
    """Uninterrupted 5 steps vs 4 steps then --resume to 5: the side job ran at 2, 4 and 5 (its last step)
    in both, and the penalty's count (which weights its term) came back from the checkpoint."""
    whole = tmp_path / "whole"
    tr = Trainer(_cfg(tiny_recipe, *WITH_PARTS, "trainer.max_steps=5"), whole)
    tr.fit()
    assert [(r["step"], r["runs"], r["last"]) for r in _lines(whole / "step_log.jsonl")] == [
        (2, 1, False), (4, 2, False), (5, 3, True)]
    rows = _lines(whole / "metrics.jsonl")
    # the row is written first among a step's side jobs: it shows the side job's count before its run there
    assert [(r["step"], r["side_jobs.step_log.runs"], r["penalties[0].calls"]) for r in rows] == [
        (2, 0, 2), (4, 1, 4), (5, 2, 5)]

    cut = tmp_path / "cut"
    Trainer(_cfg(tiny_recipe, *WITH_PARTS, "trainer.max_steps=4"), cut).fit()
    saved = state_file.read(ckpt.latest(cut)).parts
    assert saved == {"penalties[0]": {"calls": 4}, "side_jobs.step_log": {"runs": 2}}
    resumed = Trainer(_cfg(tiny_recipe, *WITH_PARTS, "trainer.max_steps=5"), cut, resume=True)
    assert resumed.parts.penalties[0].module.calls == 4 and resumed.side_jobs["side_jobs.step_log"].runs == 2
    resumed.fit()
    assert [(r["step"], r["runs"]) for r in _lines(cut / "step_log.jsonl")] == [(2, 1), (4, 2), (5, 3)]
    assert state_file.read(ckpt.latest(cut)).parts == state_file.read(ckpt.latest(whole)).parts
    assert all(torch.equal(a, b) for a, b in zip(_weights(resumed), _weights(tr)))


def test_without_its_state_the_penalty_would_train_differently(tiny_recipe, tmp_path):
    """The count matters: a run whose penalty starts from another count ends with other weights."""
    runs = []
    for calls in (0, 3):
        tr = Trainer(_cfg(tiny_recipe, "penalties=[{name: decaying_r1, gamma: 50.0}]", "trainer.max_steps=2",
                          "trainer.checkpoint_every=100", "trainer.sample_every=100"), tmp_path / f"c{calls}")
        tr.parts.penalties[0].module.calls = calls
        tr.fit()
        runs.append(_weights(tr))
    assert any(not torch.equal(a, b) for a, b in zip(*runs))


def test_side_jobs_may_change_on_resume_and_one_added_starts_afresh(tiny_recipe, tmp_path):
    run = tmp_path / "run"
    Trainer(_cfg(tiny_recipe, "trainer.max_steps=2"), run).fit()
    assert recipe.is_resume_safe("side_jobs")
    assert recipe.fingerprint(_cfg(tiny_recipe)) == recipe.fingerprint(_cfg(tiny_recipe, *WITH_PARTS[1:]))
    tr = Trainer(_cfg(tiny_recipe, "trainer.max_steps=4", "side_jobs=[{name: step_log, every: 1}]"), run, resume=True)
    assert tr.state.step == 2 and tr.side_jobs["side_jobs.step_log"].runs == 0
    tr.fit()
    assert [(r["step"], r["runs"]) for r in _lines(run / "step_log.jsonl")] == [(3, 1), (4, 2)]


def test_a_duck_typed_plugin_penalty_trains_and_keeps_its_state(tiny_recipe, tmp_path):
    tr = Trainer(_cfg(tiny_recipe, "penalties=[{name: duck_counter, weight: 0.5}]", "trainer.max_steps=2"),
                 tmp_path / "run")
    pen = tr.parts.penalties[0].module
    assert type(pen).__name__ == "DuckCounter" and pen.stateful and pen.network == "D" and pen.labels == "real"
    tr.fit()
    assert pen.calls == 2 and state_file.read(ckpt.latest(tmp_path / "run")).parts == {"penalties[0]": {"calls": 2}}


@pytest.mark.parametrize("node, says", [
    ("{name: step_lgo}", "side_jobs[0].name: unknown side job 'step_lgo'. Did you mean 'step_log'?"),
    ("{name: step_log, evry: 2}", "side_jobs[0].evry: side job 'step_log' has no argument 'evry'. Did you mean 'every'?"),
    ("{name: step_log, every: often}", "side_jobs[0].every: side job 'step_log' expects"),
    ("{every: 2}", "side_jobs[0].name: missing"),
])
def test_a_bad_side_job_is_reported_like_any_component(tiny_recipe, node, says):
    with pytest.raises(GankitError) as e:
        validate.load(tiny_recipe, [f"plugins=[{PLUGIN}]", f"side_jobs=[{node}]"])
    assert says in str(e.value)


def test_snapshot_saves_the_generator_at_its_steps(tiny_recipe, tmp_path):
    run = tmp_path / "run"
    tr = Trainer(_cfg(tiny_recipe, "trainer.max_steps=3", "side_jobs=[{name: snapshot, every: 2}]"), run)
    tr.fit()
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == ["G-step-0000002.safetensors",
                                                                    "G-step-0000003.safetensors"]
    saved = load_file(str(run / "snapshots" / "G-step-0000003.safetensors"))
    G = tr.sampler_model().state_dict()
    assert saved.keys() == G.keys() and all(torch.equal(saved[k], G[k]) for k in G)


def test_an_evaluation_that_beats_the_best_forces_a_checkpoint_and_publishes_it(tiny_recipe, tmp_path):
    run = tmp_path / "run"
    tr = Trainer(_cfg(tiny_recipe, "trainer.max_steps=5", "trainer.checkpoint_every=100", "trainer.keep_checkpoints=5",
                      "eval.best=fd"), run)
    scores = [3.0, 1.0, 2.0]
    tr.evaluator, tr.t.eval_every = "stands in", 2  # evaluations at steps 2, 4 and 5 (the last)
    tr.evaluate = lambda: {"fd": scores.pop(0)}
    summary = tr.fit()
    assert summary == {"step": 5, "eval/fd": 2.0}  # the last row written: step 5's evaluation
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["step-0000002", "step-0000004", "step-0000005"]
    best = json.loads((run / "checkpoints" / "best" / "best.json").read_text())
    assert (best["source"], best["value"], best["step"]) == ("step-0000004", 1.0, 4)
    assert (tr.state.best, tr.state.best_step) == (1.0, 4)


def test_a_signal_stops_the_run_after_a_checkpoint_of_that_step(tiny_recipe, tmp_path):
    """A side job that sends SIGTERM at step 3: the stop flag, last in line, saves step 3 and ends the run."""
    class Terminate(SideJob):
        """Sends SIGTERM to this process at step `at`."""

        def __init__(self, at: int = 3):
            super().__init__(1)
            self.at = at

        def run(self, trainer, tick):
            if tick.step == self.at:
                os.kill(os.getpid(), signal.SIGTERM)

    SIDE_JOBS.register("gk_terminate")(Terminate)
    try:
        run = tmp_path / "run"
        tr = Trainer(_cfg(tiny_recipe, "trainer.max_steps=8", "side_jobs=[{name: gk_terminate, at: 3}]"), run)
        summary = tr.fit()
    finally:
        SIDE_JOBS._entries.pop("gk_terminate")
    assert summary["interrupted"] == "SIGTERM" and summary["step"] == 2  # the last metrics row: step 2
    assert tr.state.step == 3 and [p.name for p in ckpt.list_checkpoints(run)] == ["step-0000002", "step-0000003"]
