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
