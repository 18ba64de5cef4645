"""gankit train end to end: evaluation rows in metrics.jsonl."""
import json

import pytest

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
