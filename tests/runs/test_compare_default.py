"""``gankit compare`` of runs without ``--out`` writes its page under runs/ (ignored by git), not into the
working folder."""
from gankit.cli import main


def test_a_compare_of_runs_without_out_writes_under_runs(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(run_dir), str(run_dir)]) == 0
    pages = list((tmp_path / "runs").glob("compare-*.html"))
    assert len(pages) == 1 and not (tmp_path / "compare.html").exists()
    assert f"comparison page: {pages[0].relative_to(tmp_path)}" in capsys.readouterr().out
