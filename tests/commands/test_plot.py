"""gankit plot end to end: curves.png from a run's metrics.jsonl."""
import json

import pytest

from gankit.cli import main
from gankit.store.metrics import read_metrics


@pytest.mark.slow
def test_plot_losses_and_eval_rows(run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    rows = (run_dir / "metrics.jsonl").read_text() + json.dumps({"step": 4, "eval/fd": 12.5, "eval/eval_s": 1.0})
    (run / "metrics.jsonl").write_text(rows + "\n{\"step\": 5, \"d_lo")  # a half-written last line
    assert main(["plot", str(run)]) == 0
    assert (run / "curves.png").stat().st_size > 1000
    log = read_metrics(run / "metrics.jsonl")
    assert len(log.train) + len(log.evals) == 3 and log.bad == 1
    assert main(["plot", str(tmp_path / "empty")]) == 2
    assert "metrics.jsonl not found" in capsys.readouterr().err
