"""Records keep curves and grids (``compare --record``), and pages show them: the record-figures block (an SVG
curve and the grids, files under docs/images/records/ checked byte for byte) and the record-machine line."""
import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

from gankit.experiments import records
from gankit.store import grids

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import docsgen  # noqa: E402  (scripts/docsgen.py)

TINY = ROOT / "tests" / "recipes" / "tiny.yaml"
LABEL = "fd (lenet_mnist, 1k vs 256)"


def _run(root: Path, name: str, seed: int, fds: dict[int, float], grid_steps=(), real: bool = True) -> Path:
    """A run directory as `gankit train tiny.yaml` leaves it: eval rows of fd at ``fds`` ({step: value}), sample
    grids at ``grid_steps`` and (``real``) samples/real.png."""
    from gankit.config import recipe, validate

    run = root / name
    run.mkdir(parents=True)
    cfg = validate.load(TINY, [f"trainer.seed={seed}"], for_training=False).cfg
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(cfg)))
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "eval/fd": v, "labels": {"fd": LABEL}}) + "\n"
                                               for s, v in fds.items()))
    (run / "machine.json").write_text(json.dumps({"cpu": "AMD EPYC 7B13", "cpu_flags": ["avx2", "avx512_bf16"],
                                                  "threads": 2, "gpus": [], "torch": "2.14.1",
                                                  "accelerate": "1.9.0", "precision": "no"}))
    (run / "samples").mkdir()
    gen = torch.Generator().manual_seed(seed)
    for s in grid_steps:
        grids.write_grid(run, s, torch.rand(4, 3, 8, 8, generator=gen) * 2 - 1, 2)
    if real:
        grids.write_real_grid(run, torch.zeros(4, 3, 8, 8), 2)
    return run


@pytest.fixture
def seeds_record(tmp_path, monkeypatch):
    """Two seeds of one configuration (the second never evaluated at step 6) and their record."""
    from gankit.cli import main

    runs = tmp_path / "runs"
    _run(runs, "s0", 0, {2: 30.0, 4: 20.0, 6: 10.0}, grid_steps=(2, 4))
    _run(runs, "s1", 1, {2: 34.0, 4: 22.0, 5: 15.0}, grid_steps=(2, 4), real=False)
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(runs), "--json", "--record", "seeds", "--recipe", str(TINY)]) == 0
    return tmp_path


def test_curves_hold_one_value_per_seed_at_the_steps_every_seed_has(seeds_record):
    row, = records.read(seeds_record / "results" / "seeds.json").rows
    batch = 32  # tiny.yaml's batch_size, d_steps 1
    assert row.curves == {"fd": [{"step": 2, "images": 2 * batch, "values": [30.0, 34.0]},
                                 {"step": 4, "images": 4 * batch, "values": [20.0, 22.0]}]}
    assert row.values["fd"].values == [10.0, 15.0]  # the final values stay each seed's last


def test_the_first_seed_s_last_grid_and_real_grid_are_kept_beside_the_record(seeds_record):
    row, = records.read(seeds_record / "results" / "seeds.json").rows
    assert row.images == {"last": "results/seeds/last.png", "real": "results/seeds/real.png",
                          "last_seed": 0, "last_step": 4}
    s0 = seeds_record / "runs" / "s0"
    assert (seeds_record / row.images["last"]).read_bytes() == grids.grid_path(s0, 4).read_bytes()
    assert (seeds_record / row.images["real"]).read_bytes() == grids.real_grid_path(s0).read_bytes()


def test_a_record_without_curves_or_images_still_reads(seeds_record):
    path = seeds_record / "results" / "seeds.json"
    data = json.loads(path.read_text())
    for row in data["rows"]:
        del row["curves"], row["images"]
    path.write_text(json.dumps(data))
    row, = records.read(path).rows
    assert (row.curves, row.images) == ({}, {})
    data["rows"][0]["curves"] = {"fd": [{"step": 2, "images": None, "values": ["ten"]}]}
    path.write_text(json.dumps(data))
    with pytest.raises(Exception, match=r"rows\[0\]\.curves\.fd\[0\]\.values\[0\]"):
        records.read(path)


def _site(root: Path) -> Path:
    (root / "recipes").mkdir()
    (root / "recipes" / "tiny.yaml").write_text(f"base: {TINY}\n")
    (root / "docs").mkdir()
    (root / "docs" / "results.md").write_text("# Curves\n\n<!-- record-figures: seeds fd -->\n<!-- /record-figures -->"
                                             "\n\n<!-- record-machine: seeds -->\n<!-- /record-machine -->\n")
    return root


def test_the_figures_block_shows_the_curve_and_grids_and_the_check_fails_when_a_file_differs(seeds_record):
    root = _site(seeds_record)
    files: dict = {}
    fresh, stale_rows = docsgen.record_pages(root, root / "results", files)
    page = fresh[root / "docs" / "results.md"]
    images = root / "docs" / "images" / "records"
    assert set(files) == {images / "seeds-fd.svg", images / "seeds-last.png", images / "seeds-real.png"}
    svg = files[images / "seeds-fd.svg"]
    assert b"<svg" in svg and b"kimg" in svg
    assert "![fd over images seen, seeds](images/records/seeds-fd.svg)" in page
    assert "![last grid (seed 0, step 4)](images/records/seeds-last.png)<br>last grid (seed 0, step 4)" in page
    assert "![real images](images/records/seeds-real.png)<br>real images" in page
    assert "<sub>From `results/seeds.json`: measured " in page
    again: dict = {}
    docsgen.record_pages(root, root / "results", again)
    assert again == files  # the SVG is the same bytes at every render

    assert len(docsgen.record_problems(root, root / "results")) == 4  # the page and its three files
    (root / "docs" / "results.md").write_text(page)
    for path, data in files.items():
        images.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert docsgen.record_problems(root, root / "results") == []
    svg_file = images / "seeds-fd.svg"  # another matplotlib draws the same curve in other bytes: still up to date
    svg_file.write_bytes(svg.replace(b"<svg", b"<!-- drawn elsewhere -->\n<svg", 1))
    assert docsgen.record_problems(root, root / "results") == []

    record = root / "results" / "seeds.json"
    data = json.loads(record.read_text())
    data["rows"][0]["curves"]["fd"][0]["values"][0] = 31.0
    record.write_text(json.dumps(data))
    assert docsgen.record_problems(root, root / "results") == [
        f"out of date: {images / 'seeds-fd.svg'} (differs from its record; run: python scripts/docsgen.py)"]
    data["rows"][0]["curves"]["fd"][0]["values"][0] = 30.0
    record.write_text(json.dumps(data))
    (images / "seeds-real.png").unlink()
    assert docsgen.record_problems(root, root / "results") == [
        f"out of date: {images / 'seeds-real.png'} (missing; run: python scripts/docsgen.py)"]


def test_the_machine_block_names_cpu_flags_threads_versions_and_precision(seeds_record):
    root = _site(seeds_record)
    page = docsgen.record_pages(root, root / "results")[0][root / "docs" / "results.md"]
    assert ("<!-- record-machine: seeds -->\nMeasured on AMD EPYC 7B13 (avx2, avx512_bf16), 2 threads, torch 2.14.1, "
            "accelerate 1.9.0, precision fp32 (`results/seeds.json`).\n<!-- /record-machine -->") in page


def test_sweep_refuses_a_bad_record_name_or_a_recipe_without_record_before_it_starts(tmp_path, monkeypatch, capsys):
    from gankit.cli import main

    monkeypatch.chdir(tmp_path)
    space = tmp_path / "space.yaml"
    space.write_text("params: {optim.g.lr: [0.001]}\n")
    assert main(["sweep", str(TINY), str(space), "--out", "sw", "--record", "../x"]) == 2
    assert "--record: '../x' is not a record name" in capsys.readouterr().err
    assert main(["sweep", str(TINY), str(space), "--out", "sw", "--recipe", str(TINY)]) == 2
    assert "give --record NAME with it" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [space]  # no sweep folder, no study
