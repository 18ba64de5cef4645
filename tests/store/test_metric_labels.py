"""What an evaluation metric is (feature space, sample counts), as metrics.jsonl rows say it."""
import json

from gankit.cli import main
from gankit.store.files import METRICS_FILE
from gankit.store.metrics import metric_label, read_metrics


def test_the_newest_row_that_logged_a_metric_names_it_and_old_rows_read_as_the_bare_name(tmp_path):
    rows = [{"step": 2, "eval/fd": 9.0},  # written before rows named their metrics
            {"step": 4, "eval/fd": 8.0, "labels": {"fd": "fd (lenet_mnist, 1k vs 256)"}},
            {"step": 6, "eval/kid": 0.1, "labels": {"kid": "kid (inception_v3, 2k vs 2k)"}}]
    path = tmp_path / METRICS_FILE
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    evals = read_metrics(path).evals
    assert len(evals) == 3
    assert metric_label(evals, "fd") == "fd (lenet_mnist, 1k vs 256)"
    assert metric_label(evals, "kid") == "kid (inception_v3, 2k vs 2k)"
    assert metric_label(evals[:1], "fd") == "fd" and metric_label(evals, "modes") == "modes"


def test_a_training_run_s_eval_rows_name_the_feature_space_and_counts(tiny_recipe, tmp_path):
    assert main(["train", str(tiny_recipe), "trainer.max_steps=2", "trainer.eval_every=2", "eval.num_samples=200",
                 "eval.raw=true", "ema.enabled=true", "metrics=[{name: fd}]", "--out", str(tmp_path / "run")]) == 0
    (row,) = read_metrics(tmp_path / "run" / METRICS_FILE).evals
    assert row["labels"] == {"fd": "fd (lenet_mnist, 200 vs 256)", "raw_fd": "raw_fd (lenet_mnist, 200 vs 256)"}
    floor = row["floor"]["fd"]  # the real-vs-real floor: 5 splits of the 256 real images into 128 vs 128
    assert (floor["n"], floor["splits"]) == (128, 5) and 0 < floor["mean"] < row["eval/fd"] and floor["sd"] > 0
    assert row["floor"]["raw_fd"] == floor


def test_floors_in_rows_are_named_with_the_metric_and_old_rows_have_none(tmp_path):
    from gankit.runs.pages import metric_name

    rows = [{"step": 2, "eval/fd": 9.0},
            {"step": 4, "eval/fd": 8.0, "labels": {"fd": "fd (lenet_mnist, 1k vs 256)"},
             "floor": {"fd": {"mean": 7.21, "sd": 1.83, "n": 128, "splits": 5}}}]
    path = tmp_path / METRICS_FILE
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    evals = read_metrics(path).evals
    assert metric_name(evals, "fd") == "fd (lenet_mnist, 1k vs 256), floor 7.2 ± 1.8"
    assert metric_name(evals[:1], "fd") == "fd"
