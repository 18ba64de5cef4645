"""metrics.jsonl: training and evaluation rows read back, a resumed run's later rows trimmed."""
import json
from pathlib import Path

from gankit.store.files import METRICS_FILE
from gankit.store.metrics import read_metrics, trim_metrics

ROWS = [
    {"step": 10, "epoch": 0.1, "d_loss": 1.386294, "g_loss": 0.693147, "d_real": 0.01, "d_fake": -0.02,
     "images_per_s": 1234.5, "time_s": 1.0},
    {"step": 20, "epoch": 0.2, "d_loss": 1.111111, "g_loss": 2.718281, "d_real": 0.51, "d_fake": -0.77,
     "images_per_s": 2345.6, "time_s": 2.0},
    {"step": 20, "eval/fd": 87.654321, "eval/kid": 0.0421},
]


def _metrics(tmp_path: Path, tail: str = '{"step": 30, "d_lo') -> Path:
    path = tmp_path / METRICS_FILE
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS) + tail)  # the last line cut by a crash
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_read_metrics_splits_training_and_evaluation_rows(tmp_path):
    train, evals, bad = read_metrics(_metrics(tmp_path))
    assert [r["step"] for r in train] == [10, 20]
    assert evals == [{"step": 20, "eval/fd": 87.654321, "eval/kid": 0.0421}]
    assert bad == 1


def test_read_metrics_tolerates_blank_lines_rows_without_step_and_a_missing_file(tmp_path):
    log = read_metrics(_metrics(tmp_path, tail='\n\n[1, 2]\n{"d_loss": 1.0}\n{"step": 40, "g_loss": 0.5}\n'))
    assert [r["step"] for r in log.train] == [10, 20, 40] and len(log.evals) == 1
    assert log.bad == 2  # a list and a row without a step; blank lines are not counted
    assert read_metrics(tmp_path / "nope.jsonl") == ([], [], 0)


def test_trim_metrics_drops_later_rows_and_a_cut_last_line_once(tmp_path):
    path = _metrics(tmp_path)  # rows at steps 10, 20 (and an eval row) and half a row of step 30
    assert trim_metrics(path, 10) == 3
    assert [json.loads(x)["step"] for x in path.read_text().splitlines()] == [10]
    assert trim_metrics(path, 10) == 0 and _leftovers(tmp_path) == []
    path.write_text(json.dumps(ROWS[0]))  # a complete row without its newline is kept, and ended
    assert trim_metrics(path, 10) == 0 and path.read_text() == json.dumps(ROWS[0]) + "\n"
