"""gankit report on a real trained run (the shared tiny run), --out, and its one-paragraph refusals."""
import json
import shutil

import pytest

from gankit.cli import main
from gankit.store.files import METRICS_FILE, REPORT_FILE
from gankit.store.grids import grid_step, grids


def _copy(run_dir, tmp_path):
    """The run without its checkpoints (a report reads none) and without the report training wrote."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("checkpoints", REPORT_FILE))
    return run


def _one_paragraph(err: str) -> None:
    assert err.startswith("gankit: error: report: "), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_report_writes_report_html_into_the_run_and_prints_its_path(run_dir, tmp_path, capsys):
    run = _copy(run_dir, tmp_path)
    assert main(["report", str(run)]) == 0
    assert capsys.readouterr().out.strip() == str(run / REPORT_FILE)
    html = (run / REPORT_FILE).read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    steps = [grid_step(p) for p in grids(run)]
    assert steps  # the tiny run wrote sample grids
    for step in steps:
        assert f'alt="samples at step {step}"' in html
    last = [json.loads(line) for line in (run / METRICS_FILE).read_text().splitlines()][-1]
    assert f"{last['g_loss']:.6g}" in html


def test_out_writes_elsewhere_and_leaves_the_run_alone(run_dir, tmp_path, capsys):
    run = _copy(run_dir, tmp_path)
    before = sorted(p.name for p in run.iterdir())
    target = tmp_path / "elsewhere.html"
    assert main(["report", str(run), "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert target.stat().st_size > 0
    assert sorted(p.name for p in run.iterdir()) == before


def test_out_in_a_missing_folder_is_refused_cleanly(run_dir, tmp_path, capsys):
    run = _copy(run_dir, tmp_path)
    target = tmp_path / "sub" / "dir" / "r.html"
    assert main(["report", str(run), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: --out: folder ") and "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "sub").exists()


def test_a_missing_folder_is_one_error_and_exit_2(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["report", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    _one_paragraph(captured.err)
    assert str(missing) in captured.err and "does not exist" in captured.err
    assert not missing.exists()


def test_a_folder_that_is_not_a_run_is_refused_and_left_empty(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 2
    err = capsys.readouterr().err
    _one_paragraph(err)
    assert "not a gankit run" in err
    assert list(empty.iterdir()) == []
