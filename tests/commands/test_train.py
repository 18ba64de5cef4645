"""gankit train end to end: evaluation rows in metrics.jsonl; the recipe validated once."""
import json

import pytest

import gankit
from gankit.cli import main


@pytest.mark.slow
def test_trainer_logs_eval_rows(tmp_path):
    from tests.conftest import ROOT

    out = tmp_path / "run"
    assert main(["train", str(ROOT / "tests/recipes/tiny.yaml"), "trainer.eval_every=4", "eval.num_samples=200",
                 "trainer.checkpoint_every=4", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval/fd" in r]
    assert len(evals) == 1 and evals[0]["step"] == 4
    assert {"eval/fd", "eval/classifier_score", "eval/modes", "eval/modes_kl"} <= set(evals[0])


@pytest.mark.slow
def test_a_run_validates_its_recipe_and_imports_its_plugins_once(tiny_recipe, tmp_path, validation_calls):
    (tmp_path / "empty_plugin.py").write_text('"""A plugin that registers nothing."""\n')
    r = tmp_path / "r.yaml"
    r.write_text(f"base: {tiny_recipe}\nplugins: [./empty_plugin.py]\n")
    calls = validation_calls
    out = tmp_path / "run"
    assert main(["train", str(r), "trainer.max_steps=1", "trainer.cpu=true", "--out", str(out)]) == 0
    assert calls == {"validate": 1, "settings": 1, "plugins": 1}
    calls.update(dict.fromkeys(calls, 0))  # resuming: the stored recipe is read and validated once
    assert main(["train", "--resume", str(out)]) == 0
    assert calls == {"validate": 1, "settings": 1, "plugins": 1}
    calls.update(dict.fromkeys(calls, 0))  # with changes: the recipe given is validated, the stored one compared
    assert main(["resume", str(out), "trainer.max_steps=2"]) == 0
    assert calls == {"validate": 1, "settings": 1, "plugins": 1}


@pytest.mark.slow
def test_the_python_api_validates_a_plain_recipe_once(tiny_recipe, tmp_path, validation_calls):
    calls = validation_calls
    summary = gankit.train(gankit.load_recipe(tiny_recipe, ["trainer.max_steps=1", "trainer.cpu=true"]),
                           out=tmp_path / "run")
    assert summary["exit_code"] == 0 and calls == {"validate": 1, "settings": 1, "plugins": 1}


@pytest.mark.slow
def test_train_says_what_it_chose_before_its_first_step_and_writes_it_down(tiny_recipe, tmp_path, monkeypatch, capsys):
    """The first lines (run folder, device, resolved precision, steps, data, trackers) come before the first
    step, and machine.json holds the same choices for later readers."""
    from gankit.store import machine
    from gankit.training.accel import resolve_precision
    from gankit.training.trainer import Trainer

    before_first_step = []
    real_step = Trainer.step

    def step(self):
        if not before_first_step:
            before_first_step.append(capsys.readouterr().out)
        return real_step(self)

    monkeypatch.setattr(Trainer, "step", step)
    out = tmp_path / "run"
    assert main(["train", str(tiny_recipe), "trainer.max_steps=2", "trainer.precision=auto", "trainer.cpu=true",
                 "--out", str(out)]) == 0
    resolved = resolve_precision("auto", cpu=True)
    lines = before_first_step[0].splitlines()
    gloss = "fp32; recipe said auto" if resolved == "no" else "recipe said auto"
    assert lines[0] == f"run: {out}"
    assert lines[1].startswith("device: cpu ×1 (") and lines[1].endswith(" threads)")
    assert lines[2:] == [f"precision: {resolved} ({gloss})", "steps: 2 (0.25 epochs of 8 batches of 32)",
                         "data: synthetic, 256 images", "trackers: none"]
    m = machine.read(out)
    assert (m["device"], m["world_size"], m["precision"], m["precision_recipe"]) == ("cpu", 1, resolved, "auto")
    assert (m["steps"], m["steps_per_epoch"], m["batch_size"], m["num_images"]) == (2, 8, 32, 256)
    assert m["cpu"] in lines[1] and m["trackers"] == []
