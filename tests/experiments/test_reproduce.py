"""gankit reproduce: a record row trained again (or a finished run) judged against the row's seeds."""
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from gankit.cli import main
from gankit.experiments import compare, records, runs

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "recipes" / "tiny.yaml"
RECIPE = "recipes/tiny.yaml"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reproduce")]  # one worker trains the fixture's runs once


def _train(seed: int) -> None:
    assert main(["train", RECIPE, f"trainer.seed={seed}", "--out", f"runs/s{seed}"]) == 0


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    """A folder with a recipe (2 steps, fd at the end), two seeds of it, and the record `gankit compare` wrote."""
    root = tmp_path_factory.mktemp("repo")
    (root / "recipes").mkdir()
    (root / RECIPE).write_text(f"base: {TINY}\ntrainer: {{max_steps: 2, eval_every: 2, sample_every: 100, "
                               "checkpoint_every: 100}\neval: {num_samples: 64}\nmetrics: [{name: fd}]\n")
    here = os.getcwd()
    os.chdir(root)
    try:
        _train(0)
        _train(1)
        assert main(["compare", "runs", "--json", "--record", "tiny_seeds", "--recipe", RECIPE]) == 0
    finally:
        os.chdir(here)
    return root


@pytest.fixture
def repo(measured, tmp_path, monkeypatch) -> Path:
    """A copy of ``measured`` as the current folder (a test may add records and runs to it)."""
    root = tmp_path / "repo"
    shutil.copytree(measured, root)
    monkeypatch.chdir(root)
    return root


def _row() -> records.Row:
    return records.read("results/tiny_seeds.json").rows[0]


def _write(name: str, **changes) -> None:
    """A record of the same configuration as tiny_seeds, its row changed (``values``, ``machine``, ...)."""
    rec = records.read("results/tiny_seeds.json")
    records.write(replace(rec, name=name, rows=[replace(rec.rows[0], **changes)]), "results")


def _last_line(capsys) -> tuple[str, str]:
    out, err = capsys.readouterr()
    return out.strip().splitlines()[-1], err


def test_a_recorded_configuration_trained_again_is_reproduced(repo, capsys):
    fd = _row().values["fd"]
    assert main(["reproduce", RECIPE, "--out", "runs/again"]) == 0
    line, _ = _last_line(capsys)
    assert line.startswith(f"reproduced: {fd.label}: ") and " lies within tiny_seeds's " in line
    assert " over 2 seeds (allowed " in line and "; 2 steps in " in line
    assert line.endswith(", fp32") and "recorded on" not in line  # the record was measured here
    again = runs.load(repo / "runs" / "again")  # the row's first seed, trained again
    assert again.seed == 0 and compare.run_values(again, "fd")[0] == pytest.approx(fd.values[0], rel=1e-3)


def test_a_finished_run_outside_the_recorded_spread_is_not_reproduced(repo, capsys):
    fd = _row().values["fd"]
    far = records.Value(fd.mean + 1000, 1.0, [fd.mean + 999, fd.mean + 1001], fd.label)
    _write("far", values={"fd": far})
    assert main(["reproduce", RECIPE, "--record", "far", "--run", "runs/s1"]) == 1
    line, _ = _last_line(capsys)
    assert line.startswith(f"not reproduced: {fd.label}: ") and " lies outside far's " in line
    assert "over 2 seeds" in line and "; 2 steps in " in line


def test_a_finished_run_is_judged_without_training(repo, capsys):
    assert main(["reproduce", RECIPE, "--run", "runs/s1"]) == 0
    line, _ = _last_line(capsys)
    assert line.startswith("reproduced: ") and sorted(p.name for p in (repo / "runs").iterdir()) == ["s0", "s1"]


def test_another_machine_or_precision_is_named_in_the_verdict(repo, capsys):
    _write("xeon", machine={"cpu": "Intel Xeon", "gpus": []}, precision="bf16")
    assert main(["reproduce", RECIPE, "--record", "xeon", "--run", "runs/s0"]) == 0
    line, _ = _last_line(capsys)
    assert line.endswith("on AMD EPYC, fp32 (recorded on Intel Xeon, bf16)")
    assert main(["reproduce", RECIPE, "--record", "tiny_seeds", "--run", "runs/s0"]) == 0
    assert "recorded on" not in _last_line(capsys)[0]


def test_an_override_that_changes_the_fingerprint_is_refused_before_training(repo, capsys):
    assert main(["reproduce", RECIPE, "optim.g.lr=0.5", "--out", "runs/changed"]) == 2
    err = capsys.readouterr().err
    assert f"record tiny_seeds (row 'tiny') measured {_row().recipe.fingerprint}" in err
    assert "the overrides optim.g.lr=0.5 change what is trained" in err and "stale" in err
    assert not (repo / "runs" / "changed").exists()
    assert main(["reproduce", RECIPE, "trainer.max_steps=3"]) == 2  # the budget is part of a record's fingerprint
    assert "the overrides trainer.max_steps=3 change what is trained" in capsys.readouterr().err
    assert sorted(p.name for p in (repo / "runs").iterdir()) == ["s0", "s1"]


def test_a_run_of_another_configuration_or_budget_is_refused(repo, capsys):
    shutil.copytree("runs/s0", "runs/other")
    stored = repo / "runs" / "other" / "recipe.yaml"
    stored.write_text(stored.read_text().replace("lr: 0.001", "lr: 0.5"))
    assert main(["reproduce", RECIPE, "--run", "runs/other"]) == 2
    assert "--run: runs/other was trained from a recipe of fingerprint" in capsys.readouterr().err
    shutil.copytree("runs/s0", "runs/short")
    stored = repo / "runs" / "short" / "recipe.yaml"
    stored.write_text(stored.read_text().replace("max_steps: 2", "max_steps: 1"))
    assert main(["reproduce", RECIPE, "--run", "runs/short"]) == 2
    assert "--run: runs/short was trained from a recipe of fingerprint" in capsys.readouterr().err
    assert main(["reproduce", RECIPE, "--run", "runs/s0", "--seed", "3"]) == 2
    assert "with --run nothing is trained" in capsys.readouterr().err


def test_no_record_and_several_records_are_clear_errors(repo, capsys):
    (repo / "recipes" / "other.yaml").write_text(f"base: {TINY}\n")
    assert main(["reproduce", "recipes/other.yaml"]) == 2
    err = capsys.readouterr().err
    assert "no record in results/ measures recipes/other.yaml" in err
    assert "`gankit compare RUNS --record NAME --recipe recipes/other.yaml [KEY=VALUE ...]`" in err
    _write("copy")
    assert main(["reproduce", f"./{RECIPE}"]) == 2  # the same file, written another way
    err = capsys.readouterr().err
    assert "2 records measure ./recipes/tiny.yaml; choose one with --record NAME" in err
    assert "--record copy --row 'tiny'; --record tiny_seeds --row 'tiny'" in err
    assert main(["reproduce", RECIPE, "--record", "copy", "--row", "lr=1"]) == 2
    assert "--row: no row 'lr=1' measures recipes/tiny.yaml; the rows that do: 'tiny' (copy)." \
        in capsys.readouterr().err
    assert main(["reproduce", "recipes/other.yaml", "--record", "copy"]) == 2
    assert "record copy has no row that measures recipes/other.yaml" in capsys.readouterr().err


def test_a_row_without_a_spread_over_seeds_is_refused(repo, capsys):
    fd = _row().values["fd"]
    single = records.Value(fd.values[0], None, fd.values[:1], fd.label)
    _write("one_seed", values={"fd": single}, seeds=[0])  # one run: not a row to reproduce (nor a bench's or floor's)
    assert main(["reproduce", RECIPE, "--record", "one_seed", "--run", "runs/s0"]) == 2
    assert "record one_seed has no row that measures recipes/tiny.yaml over several seeds" in capsys.readouterr().err
    floor = records.Value(8.9, 8.2, [1.0, 5.0, 9.0, 12.0, 17.0], "floor fd (lenet_mnist, 128 vs 128), 5 splits")
    _write("single_fd", values={"fd": single, "floor/fd": floor})
    assert main(["reproduce", RECIPE, "--record", "single_fd", "--run", "runs/s0"]) == 2
    assert "holds a single value of fd (from 1 run), so there is no spread over seeds" in capsys.readouterr().err
    assert main(["reproduce", RECIPE, "--record", "single_fd", "--metric", "floor/fd"]) == 2  # a spread over splits
    assert "--metric: floor/fd is a real-vs-real floor" in capsys.readouterr().err
    assert sorted(p.name for p in (repo / "runs").iterdir()) == ["s0", "s1"]


def test_among_several_rows_the_one_closest_to_the_recipe_file_is_tested(repo, capsys):
    row = _row()
    far = records.Value(1e6, 1.0, [1e6 - 1, 1e6 + 1], row.values["fd"].label)
    _write("variant", recipe=replace(row.recipe, overrides=[*row.recipe.overrides, "trainer.precision=no"]),
           values={"fd": far})  # e.g. the fp32 variant of a recipe that says auto
    _write("bench", seeds=[], values={"fd": far})  # a timing or script row: no seeds
    assert main(["reproduce", RECIPE, "--run", "runs/s0"]) == 0
    assert "lies within tiny_seeds's" in _last_line(capsys)[0]
    assert main(["reproduce", RECIPE, "--record", "variant", "--run", "runs/s0"]) == 1  # chosen by name
