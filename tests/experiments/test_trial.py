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
