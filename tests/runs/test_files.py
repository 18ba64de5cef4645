"""The run-directory module: names, atomic writes, the folder swap and the metrics.jsonl reader."""
import json
import os
from pathlib import Path

import pytest

from gankit.runs import files
from gankit.runs.files import (grid_path, grid_step, grids, read_metrics, replacing, swap_in, write_json_atomic,
                               write_text_atomic)

ROWS = [
    {"step": 10, "epoch": 0.1, "d_loss": 1.386294, "g_loss": 0.693147, "d_real": 0.01, "d_fake": -0.02,
     "images_per_s": 1234.5, "time_s": 1.0},
    {"step": 20, "epoch": 0.2, "d_loss": 1.111111, "g_loss": 2.718281, "d_real": 0.51, "d_fake": -0.77,
     "images_per_s": 2345.6, "time_s": 2.0},
    {"step": 20, "eval/fd": 87.654321, "eval/kid": 0.0421},
]


def _metrics(tmp_path: Path, tail: str = '{"step": 30, "d_lo') -> Path:
    path = tmp_path / files.METRICS_FILE
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS) + tail)  # the last line cut by a crash
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_layout_names():
    assert (files.RECIPE_FILE, files.METRICS_FILE, files.REPORT_FILE, files.CURVES_FILE) == \
        ("recipe.yaml", "metrics.jsonl", "report.html", "curves.png")
    assert (files.SAMPLES_DIR, files.CHECKPOINTS_DIR, files.STATE_FILE, files.BEST) == \
        ("samples", "checkpoints", "state.json", "best")
    assert (files.MODEL_FILE, files.EMA_FILE) == ("model.safetensors", "ema.safetensors")


def test_grid_paths_round_trip_and_sort_by_step(tmp_path):
    assert grid_path(tmp_path, 123) == tmp_path / "samples" / "step-0000123.png"
    assert grid_step(grid_path(tmp_path, 123)) == 123 and grid_step("notes.png") is None
    (tmp_path / "samples").mkdir()
    for step in (20, 3, 100):
        grid_path(tmp_path, step).write_bytes(b"")
    (tmp_path / "samples" / "other.png").write_bytes(b"")
    assert [grid_step(p) for p in grids(tmp_path)] == [3, 20, 100]
    assert grids(tmp_path / "missing") == []


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


def test_write_text_and_json_atomic_round_trip(tmp_path):
    path = tmp_path / "state.json"
    write_json_atomic(path, {"step": 3, "nested": {"a": [1, 2.5, None]}})
    assert json.loads(path.read_text()) == {"step": 3, "nested": {"a": [1, 2.5, None]}}
    write_text_atomic(path, "überschrieben\n")
    assert path.read_text(encoding="utf-8") == "überschrieben\n"
    assert _leftovers(tmp_path) == []


def test_a_write_interrupted_before_the_rename_keeps_the_old_content(tmp_path, monkeypatch):
    path = tmp_path / "recipe.yaml"
    write_text_atomic(path, "old: 1\n")
    with pytest.raises(TypeError):
        write_json_atomic(path, {"not json": object()})
    assert path.read_text() == "old: 1\n"

    def crash(*_):
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="before the rename"):
        write_text_atomic(path, "new: 2\n")
    assert path.read_text() == "old: 1\n"
    assert _leftovers(tmp_path) == []  # the temporary file is removed


def test_replacing_writes_beside_the_target_and_renames_on_success(tmp_path):
    target = tmp_path / "cache.bin"
    with replacing(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"\x00\x01")
        assert not target.exists()
    assert target.read_bytes() == b"\x00\x01" and _leftovers(tmp_path) == []


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "state.json").write_text(text)
    (path / "sub").mkdir()
    (path / "sub" / "w.bin").write_bytes(text.encode())
    return path


def test_swap_in_replaces_a_folder_and_leaves_nothing_parked(tmp_path):
    final = _folder(tmp_path / "best", "old")
    swap_in(_folder(tmp_path / ".tmp-best", "new"), final)
    assert (final / "state.json").read_text() == "new" and (final / "sub" / "w.bin").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
    swap_in(_folder(tmp_path / ".tmp-fresh", "first"), tmp_path / "fresh")  # no old folder to park
    assert (tmp_path / "fresh" / "state.json").read_text() == "first"


def test_swap_in_interrupted_after_parking_keeps_the_old_folder_as_dot_old(tmp_path, monkeypatch):
    final = _folder(tmp_path / "best", "old")
    tmp = _folder(tmp_path / ".tmp-best", "new")
    real_replace = os.replace

    def crash_on_second(src, dst):
        if Path(src) == tmp:
            raise OSError("killed between the two renames")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_second)
    with pytest.raises(OSError):
        swap_in(tmp, final)
    assert not final.exists() and (tmp_path / ".old-best" / "state.json").read_text() == "old"
    monkeypatch.setattr(os, "replace", real_replace)
    swap_in(tmp, final)  # a stale .old-<name> from an earlier crash is removed first
    assert (final / "state.json").read_text() == "new" and not (tmp_path / ".old-best").exists()


def test_trim_metrics_drops_later_rows_and_a_cut_last_line_once(tmp_path):
    path = _metrics(tmp_path)  # rows at steps 10, 20 (and an eval row) and half a row of step 30
    assert files.trim_metrics(path, 10) == 3
    assert [json.loads(x)["step"] for x in path.read_text().splitlines()] == [10]
    assert files.trim_metrics(path, 10) == 0 and _leftovers(tmp_path) == []
    path.write_text(json.dumps(ROWS[0]))  # a complete row without its newline is kept, and ended
    assert files.trim_metrics(path, 10) == 0 and path.read_text() == json.dumps(ROWS[0]) + "\n"


def test_stale_temporaries_of_killed_processes_are_removed_live_ones_kept(tmp_path):
    mine = tmp_path / f".recipe.yaml.{os.getpid()}.tmp"
    dead = tmp_path / ".recipe.yaml.999999999.tmp"
    for p in (mine, dead):
        p.write_text("half")
    assert files.remove_stale_temporaries(tmp_path) == [dead] and mine.exists()
