"""Run names of trials and the objective read back from a run's metrics.jsonl."""
import json

from gankit.experiments import space, trial


def test_run_names_are_readable_stable_and_distinct():
    a = trial.run_name({"lr": 0.001, "penalties.0.gamma": 5.0}, 1)
    assert a == "lr-0.001_penalties.gamma-5_seed-1" == trial.run_name({"penalties.0.gamma": 5.0, "lr": 0.001}, 1)
    assert trial.run_name({"lr": 0.001, "penalties.0.gamma": 5.0}, 2) != a
    # keys that would shorten alike stay whole; odd characters are dropped and a hash keeps names apart
    assert trial.run_name({"penalties.0.gamma": 1.0, "penalties.1.gamma": 2.0}, 0) == \
        "penalties.0.gamma-1_penalties.1.gamma-2_seed-0"
    odd = {trial.run_name({"x": v}, 0) for v in ("a b", "a/b", "ab")}
    assert len(odd) == 3 and all("/" not in n and " " not in n for n in odd)
    assert len(trial.run_name({"k": "v" * 500}, 0)) <= trial.MAX_NAME


def test_the_objective_is_the_last_or_best_evaluation(tmp_path):
    rows = [{"step": 2, "d_loss": 1.0}, {"step": 2, "eval/fd": 30.0}, {"step": 4, "eval/fd": 20.0},
            {"step": 6, "eval/fd": 25.0}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sp = space.parse({"params": {"a.b": [1]}})
    assert trial.objective_value(tmp_path, sp) == 25.0
    best = space.parse({"params": {"a.b": [1]}, "objective": {"take": "best"}})
    assert trial.objective_value(tmp_path, best) == 20.0
    most = space.parse({"params": {"a.b": [1]}, "objective": {"take": "best", "direction": "maximize"}})
    assert trial.objective_value(tmp_path, most) == 30.0
    assert trial.objective_value(tmp_path, space.parse({"params": {"a.b": [1]}, "objective": {"metric": "kid"}})) is None


def test_a_sampled_configuration_queues_its_other_seeds_and_the_budget_holds():
    import optuna
    import pytest

    sp = space.parse({"params": {"optim.g.lr": {"low": 1e-4, "high": 1e-2, "log": True}}, "sampler": "random",
                      "trials": 1, "seeds": [0, 5, 9]})
    ctx = trial.Context("r.yaml", [], sp, None, None, [], "s")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    first = study.ask()
    values = trial.suggest(first, sp)
    trial._fresh(first, ctx, values)
    assert first.user_attrs == {"seed": 0, "origin": "sampled"}
    queued = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.WAITING]
    assert [t.user_attrs["seed"] for t in queued] == [5, 9]
    assert all(t.system_attrs["fixed_params"] == values for t in queued)
    again = study.ask()  # takes a queued trial: the same configuration
    assert trial.suggest(again, sp) == values and again.user_attrs["seed"] == 5
    study.ask()
    extra = study.ask()  # nothing queued: the sampler's, but the one configuration is sampled already
    with pytest.raises(trial.Spare):
        trial._fresh(extra, ctx, trial.suggest(extra, sp))
    assert extra.user_attrs["spare"] is True


def test_the_command_starts_overwrites_or_resumes_the_run_directory(tmp_path):
    from pathlib import Path

    from gankit.config import validate

    recipe = str(Path(__file__).resolve().parents[2] / "recipes" / "mnist_dcgan_r1.yaml")
    sp = space.parse({"params": {"penalties.0.gamma": [5.0]}})
    ctx = trial.Context(recipe, ["trainer.max_steps=3"], sp, tmp_path, validate.load(recipe).cfg, ["torchrun", "--nproc_per_node", "2"], "s")
    run = tmp_path / "runs" / "x"
    new = trial.command(ctx, {"penalties.0.gamma": 5.0}, 2, run)
    assert new[:5] == ["torchrun", "--nproc_per_node", "2", "-m", "gankit"] and new[5:7] == ["train", recipe]
    assert new[7:9] == ["trainer.max_steps=3", 'penalties=[{"name": "r1", "gamma": 5.0, "interval": 16}]']
    assert new[9:] == ["trainer.seed=2", "--out", str(run)]
    (run / "checkpoints" / "step-0000002").mkdir(parents=True)  # a damaged checkpoint (no state.json) only
    (run / "recipe.yaml").write_text("{}")
    assert trial.command(ctx, {"penalties.0.gamma": 5.0}, 2, run)[-1] == "--overwrite"
    from safetensors.torch import save_file
    import torch

    (run / "checkpoints" / "step-0000002" / "state.json").write_text('{"step": 2}')
    save_file({"w": torch.zeros(2)}, run / "checkpoints" / "step-0000002" / "model.safetensors")
    assert trial.command(ctx, {"penalties.0.gamma": 5.0}, 2, run)[-2:] == ["--resume", str(run)]


def test_a_running_trial_says_each_row_of_its_run_as_it_comes(tmp_path):
    """The worker reads the run's metrics.jsonl as it grows: a line per training row (step of the run's
    steps, its losses) and per evaluation, while the run goes on."""
    import os
    import sys

    run_dir = tmp_path / "runs" / "lr-0.001_seed-0"
    rows = [{"step": 2, "d_loss": 1.5, "g_loss": 0.5, "images_per_s": 120.0}, {"step": 2, "eval/fd": 30.0},
            {"step": 4, "d_loss": 1.25, "g_loss": 0.75, "images_per_s": 130.0}]
    script = (f"import json, pathlib, time\nd = pathlib.Path({str(run_dir)!r}); d.mkdir(parents=True)\n"
              f"(d / 'machine.json').write_text(json.dumps({{'steps': 4}}))\n"
              f"for r in {rows!r}:\n    with open(d / 'metrics.jsonl', 'a') as f: f.write(json.dumps(r) + '\\n')\n"
              f"    time.sleep(0.8)\n")
    said, rows_then = [], []

    class Trial:
        number = 7

        def report(self, value, step):
            pass

        def should_prune(self):
            return False

    sp = space.parse({"params": {"a.b": [1]}})
    ctx = trial.Context("r.yaml", [], sp, tmp_path, None, [], "s",
                        say=lambda text: (said.append(text), rows_then.append(
                            len((run_dir / "metrics.jsonl").read_text().splitlines()))))
    fd = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    try:
        code, pruned = trial._train(Trial(), [sys.executable, "-c", script], run_dir, tmp_path / "t.log", fd, ctx)
    finally:
        os.close(fd)
    assert (code, pruned) == (0, None)
    assert said == ["trial 7: step 2 of 4, d_loss 1.5, g_loss 0.5, 120 img/s", "trial 7: step 2 of 4, eval fd 30",
                    "trial 7: step 4 of 4, d_loss 1.25, g_loss 0.75, 130 img/s"]
    assert rows_then[0] < len(rows)  # said while the run was still writing


def test_each_finished_trial_is_said_with_the_best_value_so_far():
    import optuna
    from optuna.trial import TrialState, create_trial

    from gankit.experiments import sweep

    study = optuna.create_study(direction="minimize")
    said = []
    announce = sweep._announce(said.append)
    for value, run in ((30.0, "a"), (20.0, "b"), (25.0, "c")):
        study.add_trial(create_trial(value=value, user_attrs={"run": run}))
        announce(study, study.trials[-1])
    study.add_trial(create_trial(state=TrialState.PRUNED, user_attrs={"run": "d", "pruned_at_step": 4}))
    announce(study, study.trials[-1])
    assert said == ["trial 0 a: 30; best so far 30 (trial 0 a)", "trial 1 b: 20; best so far 20 (trial 1 b)",
                    "trial 2 c: 25; best so far 20 (trial 1 b)",
                    "trial 3 d: pruned at step 4; best so far 20 (trial 1 b)"]
    first = optuna.create_study()
    first.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"run": "e", "error": "boom"}))
    announce(first, first.trials[-1])
    assert said[-1] == "trial 0 e: failed: boom; no trial has completed yet"
