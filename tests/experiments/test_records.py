"""Results as records: results/<name>.json written by gankit, read back checked, and the docs tables made from them."""
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from gankit.errors import GankitError
from gankit.experiments import records

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import docsgen  # noqa: E402  (scripts/docsgen.py)

TINY = ROOT / "tests" / "recipes" / "tiny.yaml"


def _recipe(folder: Path, batch_size: int = 32) -> Path:
    path = folder / "recipes" / "tiny.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"base: {TINY}\ntrainer: {{batch_size: {batch_size}}}\n")
    return path


def _record(root: Path, name: str = "floor") -> records.Record:
    recipe = _recipe(root)
    row = records.Row(
        label="real vs real", recipe=records.RecipeRef("recipes/tiny.yaml", [], records.file_fingerprint(recipe)),
        values={"floor/fd": records.Value(5.68, 1.31, [4.1, 5.2, 5.9, 6.0, 7.2], "floor fd (lenet_mnist, 5k vs 5k)"),
                "modes": records.Value(10.0, None, [10.0], "modes (lenet_mnist, 10k vs 10k)")},
        seeds=[0], runs=["run"], machine={"cpu": "AMD EPYC"}, precision="no")
    return replace(records.new(name, [row], ["eval", "run", "--record", name]), machine={"cpu": "AMD EPYC", "threads": 2, "gpus": []})


def _site(tmp_path: Path) -> Path:
    """A repository in miniature: a recipe, a record of it, and a README with the record's table."""
    root = tmp_path / "repo"
    records.write(_record(root), root / "results")
    (root / "README.md").write_text("# Numbers\n\n<!-- record-table: floor floor/fd modes -->\n"
                                    "<!-- /record-table -->\n\nAfter.\n")
    return root


def test_a_record_round_trips_through_its_file(tmp_path):
    rec = _record(tmp_path)
    path = records.write(rec, tmp_path / "results")
    assert path == tmp_path / "results" / "floor.json"
    assert records.read(path) == rec
    data = json.loads(path.read_text())
    assert len(data["commit"]["sha"]) == 40 and isinstance(data["commit"]["dirty"], bool)  # this repository's
    assert data["commands"] == ["gankit eval run --record floor"]
    assert data["rows"][0]["recipe"]["path"] == "recipes/tiny.yaml"
    assert data["rows"][0] and data["rows"][0]["precision"] == "no"


@pytest.mark.parametrize("change, key", [
    (lambda d: d["rows"][0]["values"]["floor/fd"].update(mean="5.7"), "rows[0].values.floor/fd.mean"),
    (lambda d: d.pop("commit"), "'commit'"),
    (lambda d: d["rows"][0]["recipe"].pop("fingerprint"), "rows[0].recipe.fingerprint"),
    (lambda d: d["rows"][0]["values"]["modes"].update(values=[10, "ten"]), "rows[0].values.modes.values[1]"),
])
def test_a_damaged_record_names_its_file_and_key(tmp_path, change, key):
    path = records.write(_record(tmp_path), tmp_path / "results")
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(GankitError) as e:
        records.read(path)
    assert str(path) in str(e.value) and key in str(e.value)
    path.write_text("{not json")
    with pytest.raises(GankitError, match="not a readable JSON record"):
        records.read(path)


def test_a_record_name_is_checked():
    with pytest.raises(GankitError, match="--record: '../x' is not a record name"):
        records.check_name("../x")


def test_the_table_is_made_from_the_record_and_the_check_fails_when_a_page_number_differs(tmp_path):
    root = _site(tmp_path)
    assert docsgen.record_problems(root, root / "results") == ["out of date: " + str(root / "README.md") +
                                                                " (its tables differ from results/; run: python "
                                                                "scripts/docsgen.py)"]
    (fresh, stale_rows), = [docsgen.record_pages(root, root / "results")]
    assert stale_rows == []
    page = fresh[root / "README.md"]
    assert "| floor fd (lenet_mnist, 5k vs 5k) | modes (lenet_mnist, 10k vs 10k) |" in page
    assert "| real vs real | fp32 | 5.7 ± 1.3 | 10 | 1 | `recipes/tiny.yaml` |" in page
    assert page.endswith("<!-- /record-table -->\n\nAfter.\n")
    (root / "README.md").write_text(page)
    assert docsgen.record_problems(root, root / "results") == []
    (root / "README.md").write_text(page.replace("5.7 ± 1.3", "5.6 ± 1.3"))  # one number edited by hand
    assert len(docsgen.record_problems(root, root / "results")) == 1


def test_a_row_whose_recipe_changed_is_marked_stale_and_the_check_reports_it(tmp_path):
    root = _site(tmp_path)
    _recipe(root, batch_size=64)  # the recipe now trains something else than what was measured
    fresh, stale_rows = docsgen.record_pages(root, root / "results")
    assert len(stale_rows) == 1 and "row 'real vs real' is stale: recipes/tiny.yaml now has fingerprint" in stale_rows[0]
    assert "`recipes/tiny.yaml` **stale**: recipes/tiny.yaml now has fingerprint" in fresh[root / "README.md"]
    (root / "README.md").write_text(fresh[root / "README.md"])
    assert [p for p in docsgen.record_problems(root, root / "results") if p.startswith("stale: README.md: floor: ")]
    (root / "recipes" / "tiny.yaml").unlink()
    assert "recipes/tiny.yaml no longer exists" in docsgen.record_pages(root, root / "results")[1][0]


def test_the_docs_tables_match_their_records():
    assert docsgen.record_problems() == []


def _trained_like(root: Path, name: str, seed: int, lr: float, fd: float, label: str) -> Path:
    """A run directory as `gankit train tiny.yaml optim.g.lr=LR optim.d.lr=LR` leaves it (one eval row)."""
    from gankit.config import recipe, validate

    run = root / name
    run.mkdir(parents=True)
    cfg = validate.load(TINY, [f"trainer.seed={seed}", f"optim.g.lr={lr}", f"optim.d.lr={lr}"], for_training=False).cfg
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(cfg)))
    (run / "metrics.jsonl").write_text(json.dumps({"step": 4, "eval/fd": fd, "labels": {"fd": label}}) + "\n")
    (run / "machine.json").write_text(json.dumps({"cpu": "AMD EPYC", "precision": "bf16"}))
    return run


def test_compare_record_keeps_each_configuration_s_mean_and_sd_over_seeds(tmp_path, monkeypatch, capsys):
    from gankit.cli import main

    runs = tmp_path / "runs"
    fds = {(0, 1e-3): 10.0, (1, 1e-3): 14.0, (0, 2e-3): 30.0}
    for (seed, lr), fd in fds.items():
        _trained_like(runs, f"lr{lr}-s{seed}", seed, lr, fd, "fd (lenet_mnist, 1k vs 256)")
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(runs), "--markdown", "--record", "lr_seeds", "--recipe", str(TINY)]) == 0
    out, err = capsys.readouterr()
    assert "| final fd (lenet_mnist, 1k vs 256) | best fd (lenet_mnist, 1k vs 256) |" in out
    assert "record: results/lr_seeds.json" in err
    rec = records.read(tmp_path / "results" / "lr_seeds.json")
    first, second = rec.rows
    assert (first.values["fd"].mean, first.values["fd"].values, first.seeds) == (12.0, [10.0, 14.0], [0, 1])
    assert first.values["fd"].sd == pytest.approx(2 ** 1.5) and second.values["fd"].sd is None
    assert first.values["fd"].label == "fd (lenet_mnist, 1k vs 256)" and first.machine["precision"] == "bf16"
    assert first.recipe.overrides == ["optim.d.lr=0.001", "optim.g.lr=0.001"] and records.stale(first, "/") is None
    assert first.recipe.fingerprint != second.recipe.fingerprint
    assert rec.commands[0].startswith("gankit compare ")


def test_compare_names_every_feature_space_its_runs_measured_a_metric_in(tmp_path, capsys):
    from gankit.cli import main

    _trained_like(tmp_path / "runs", "a", 0, 1e-3, 10.0, "fd (lenet_mnist, 10k vs 10k)")
    _trained_like(tmp_path / "runs", "b", 0, 2e-3, 12.0, "fd (inception_v3, 10k vs 10k)")
    assert main(["compare", str(tmp_path / "runs"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == {
        "fd": "fd (lenet_mnist, 10k vs 10k) / fd (inception_v3, 10k vs 10k)"}


def test_a_marker_shown_in_a_code_block_is_left_alone(tmp_path):
    root = _site(tmp_path)
    shown = "```markdown\n<!-- record-table: floor -->\n<!-- /record-table -->\n```\n"
    (root / "README.md").write_text(shown)
    assert docsgen.record_pages(root, root / "results") == ({}, [])
    (root / "README.md").write_text(shown + "<!-- record-table: floor modes -->\n<!-- /record-table -->\n")
    page = docsgen.record_pages(root, root / "results")[0][root / "README.md"]
    assert page.startswith(shown) and "| real vs real | fp32 | 10 | 1 |" in page


def test_a_script_measurement_is_a_row_of_its_values_recipe_and_machine(tmp_path):
    recipe = _recipe(tmp_path)
    v = records.over([2.0, 4.0, 6.0], "ms a step (2 threads, 3 steps)")
    assert (v.mean, v.sd, v.values) == (4.0, 2.0, [2.0, 4.0, 6.0])
    row = records.measured("fused", {"ms": v}, "recipes/tiny.yaml", ["trainer.batch_size=16"], "no", root=tmp_path)
    assert row.recipe.fingerprint == records.file_fingerprint(recipe, ["trainer.batch_size=16"])
    assert row.recipe.fingerprint != records.file_fingerprint(recipe) and row.machine["cpu"] and row.precision == "no"
    assert records.stale(row, tmp_path) is None
    recipe.write_text(recipe.read_text() + "optim: {g: {lr: 0.5}}\n")  # the recipe measured has changed
    assert "now has fingerprint" in records.stale(row, tmp_path)
    plain = records.measured("hand-written", {"ms": v})
    assert plain.recipe.path is None and records.stale(plain, tmp_path) is None
    rec = records.new("opt", [row, plain], ["--steps", "3", "--record", "opt"], "python benchmarks/optimizer_step.py")
    assert rec.commands == ["python benchmarks/optimizer_step.py --steps 3 --record opt"]
    assert records.read(records.write(rec, tmp_path)).rows[1].values["ms"] == v


def test_a_record_fingerprint_holds_the_budget_and_not_where_the_data_lies():
    ref = ROOT / "recipes" / "mnist_dcgan.yaml"
    fp = records.file_fingerprint(ref)
    assert records.file_fingerprint(ref, ["data.root=/elsewhere/mnist", "data.download=false", "trainer.seed=3",
                                          "trainer.log_every=5"]) == fp
    for changed in ("trainer.max_steps=100", "trainer.epochs=3", "trainer.eval_every=100", "optim.g.lr=0.002"):
        assert records.file_fingerprint(ref, [changed]) != fp, changed
