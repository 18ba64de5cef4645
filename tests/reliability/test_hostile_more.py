"""More hostile files and unlucky places, across the verbs: JSON and YAML nested thousands deep, a
``base:`` chain of a thousand recipes, a metrics.jsonl of one enormous line, sample grids that are a
device or a pipe, an output folder that cannot be written, a model folder whose config.json asks for
a giant generator, and ``--overwrite`` of a single-file export over a file gankit did not write."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from gankit.cli import main
from gankit.config import recipe
from gankit.errors import GankitError
from gankit.runs.export import export_generator
from gankit.runs.inference import load_generator
from gankit.runs.model_folder import load_folder
from gankit.store import files
from gankit.store.metrics import read_metrics
from gankit.training.trainer import Trainer

from .helpers import ROOT, SMALL, env, gankit

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("more")
    cfg = recipe.load(SMALL, ["trainer.max_steps=4", "trainer.sample_every=2"])
    Trainer(cfg, root / "run").fit()
    recipe.save(cfg, root / "run" / "recipe.yaml")
    export_generator(root / "run", root / "folder")
    return root


def _copy(trained, tmp_path, what="run"):
    return shutil.copytree(trained / what, tmp_path / what)


# -- JSON nested deeper than the parser's recursion --------------------------------------------------
def test_a_deeply_nested_state_json_makes_the_checkpoint_damaged(trained, tmp_path):
    run = _copy(trained, tmp_path)
    (run / "checkpoints" / "step-0000004" / "state.json").write_text(DEEP)
    with pytest.warns(RuntimeWarning, match="step-0000004"):
        G = load_generator(run)  # the newest intact checkpoint instead
    assert G(torch.randn(2, G.z_dim)).shape == (2, 1, 8, 8)


def test_a_deeply_nested_config_json_is_refused(trained, tmp_path):
    folder = _copy(trained, tmp_path, "folder")
    (folder / "config.json").write_text(DEEP)
    with pytest.raises(GankitError) as e:
        load_folder(folder)
    assert "config.json" in str(e.value)


@pytest.mark.parametrize("verb", ["plot", "report"])
def test_a_deeply_nested_metrics_row_is_one_bad_line(trained, tmp_path, verb, capsys):
    run = _copy(trained, tmp_path)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "d_loss": ' + DEEP + "}\n")
    assert read_metrics(run / "metrics.jsonl").bad == 1
    assert main([verb, str(run), "--out", str(tmp_path / ("out.png" if verb == "plot" else "out.html"))]) == 0


def test_a_deeply_nested_machine_json_does_not_stop_the_report(trained, tmp_path):
    run = _copy(trained, tmp_path)
    (run / "machine.json").write_text(DEEP)
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0


# -- YAML nested deeper than the parser's recursion ------------------------------------------------
@pytest.mark.parametrize("verb", ["check", "sweep"])
def test_a_deeply_nested_yaml_is_refused_not_crashed(tmp_path, verb):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    args = ["check", deep] if verb == "check" else ["sweep", SMALL, deep, "--out", tmp_path / "sw"]
    done = gankit(*args, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "deep.yaml" in done.stderr and "nested" in done.stderr and "Traceback" not in done.stderr


def test_yaml_nesting_through_aliases_counts(tmp_path):
    from gankit.config import yaml_files

    lines = ["a0: &a0 " + "[" * 40 + "]" * 40]
    for i in range(1, 6):
        lines.append(f"a{i}: &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40)
    with pytest.raises(GankitError, match="nested"):
        yaml_files.parse("\n".join(lines) + "\n", "space.yaml")
    assert yaml_files.parse("a: &x {b: [1, {c: 2}]}\nd: *x\n", "ok.yaml") == {"a": {"b": [1, {"c": 2}]},
                                                                            "d": {"b": [1, {"c": 2}]}}


def test_a_base_chain_of_a_thousand_recipes_is_refused(tmp_path):
    for i in range(1000):
        (tmp_path / f"r{i}.yaml").write_text(f"base: r{i + 1}.yaml\n")
    shutil.copy(SMALL, tmp_path / "r1000.yaml")
    with pytest.raises(GankitError) as e:
        recipe.load(tmp_path / "r0.yaml")
    assert "base:" in str(e.value) and "r0.yaml" in str(e.value)


# -- a metrics.jsonl of one enormous line ------------------------------------------------------------
def test_a_metrics_line_of_hundreds_of_megabytes_is_skipped_in_bounded_memory(trained, tmp_path):
    run = _copy(trained, tmp_path)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "d_loss": 1, "x": "')
        for _ in range(400):
            f.write("a" * 2**20)
        f.write('"}\n{"step": 6, "d_loss": 0.5, "g_loss": 0.5}\n')
    path = str(run / "metrics.jsonl")
    code = ("from gankit.store.metrics import read_metrics, trim_metrics\n"
            f"log = read_metrics({path!r})\n"
            f"print(len(log.train), log.bad, trim_metrics({path!r}, 4))\n")
    # a fresh small process runs it, so the peak (ru_maxrss, kept across exec) is the reader's own
    measure = ("import resource, subprocess, sys\n"
               "done = subprocess.run([sys.executable, '-c', sys.argv[1]])\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", measure, code], capture_output=True, text=True, env=env(), cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    counts, peak = done.stdout.split("\n")[:2]
    assert counts.split() == ["3", "1", "2"], counts  # rows of steps 2, 4 and 6; the long line is bad; 2 dropped
    assert int(peak) < 200 * 1024, f"peak {int(peak) // 1024} MiB"
    assert (run / "metrics.jsonl").stat().st_size < 2**20  # trimmed back to step 4: the long line went


# -- sample grids that are not files -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["device", "fifo"])
@pytest.mark.parametrize("verb", ["report", "compare"])
def test_a_sample_grid_that_is_not_a_file_is_not_read(trained, tmp_path, kind, verb):
    run = _copy(trained, tmp_path)
    grid = run / "samples" / "step-0000004.png"
    grid.unlink()
    if kind == "device":
        grid.symlink_to("/dev/zero")
    else:
        os.mkfifo(grid)
    done = gankit(verb, run, "--out", tmp_path / "page.html", timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "page.html").is_file()


# -- an output place that cannot be written ---------------------------------------------------------
def test_an_unwritable_temporary_is_one_clear_error(tmp_path):
    out = tmp_path / "o.png"
    (tmp_path / f".o.png.{os.getpid()}.tmp").mkdir()  # writing the temporary fails: EISDIR
    with pytest.raises(GankitError) as e:
        files.write_bytes_atomic(out, b"png")
    assert str(out) in str(e.value) and not out.exists()


@pytest.mark.parametrize("verb", ["train", "prepare-data", "sweep"])
def test_an_output_under_a_file_is_one_clear_error(tmp_path, verb):
    (tmp_path / "afile").write_text("mine\n")
    src = tmp_path / "src"
    src.mkdir()
    from PIL import Image
    Image.new("L", (8, 8)).save(src / "a.png")
    (tmp_path / "space.yaml").write_text("params: {optim.g.lr: [1.0e-4, 1.0e-3]}\n")
    args = {"train": ["train", SMALL, "trainer.max_steps=2", "--out", tmp_path / "afile" / "t"],
            "prepare-data": ["prepare-data", src, tmp_path / "afile" / "prep", "--workers", "1"],
            "sweep": ["sweep", SMALL, tmp_path / "space.yaml", "--out", tmp_path / "afile" / "sw"]}[verb]
    done = gankit(*args, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "afile" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "afile").read_text() == "mine\n"


# -- a model folder that asks for a giant generator --------------------------------------------------
@pytest.mark.parametrize("change", [{"img_shape": [3, 65536, 65536]}, {"generator": {"hidden": [2**40]}}])
def test_a_model_folder_asking_for_a_giant_generator_is_refused_before_building(trained, tmp_path, change):
    folder = _copy(trained, tmp_path, "folder")
    config = json.loads((folder / "config.json").read_text())
    for k, v in change.items():
        config[k] = {**config[k], **v} if isinstance(v, dict) else v
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(GankitError) as e:
        load_folder(folder)
    assert "model.safetensors does not fit" in str(e.value), str(e.value)


# -- --overwrite of a single-file export -------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_overwrite_does_not_replace_a_file_gankit_did_not_write(trained, tmp_path, fmt, capsys):
    pytest.importorskip("onnx") if fmt == "onnx" else None
    out = tmp_path / ("g.pt" if fmt == "torchscript" else "g.onnx")
    out.write_text("the user's own file\n")
    assert main(["export", str(trained / "run"), str(out), "--format", fmt, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "--overwrite" in err
    assert out.read_text() == "the user's own file\n"
    out.unlink()
    assert main(["export", str(trained / "run"), str(out), "--format", fmt]) == 0
    assert main(["export", str(trained / "run"), str(out), "--format", fmt, "--overwrite"]) == 0  # its own: replaced


@pytest.mark.parametrize("inside", ["", "checkpoints/step-0000004"])
def test_an_export_into_the_run_it_reads_is_refused(trained, tmp_path, inside, capsys):
    run = _copy(trained, tmp_path)
    before = sorted(p.name for p in (run / inside).iterdir())
    assert main(["export", str(run), str(run / inside), "--overwrite"]) == 2
    assert "run directory" in capsys.readouterr().err
    assert sorted(p.name for p in (run / inside).iterdir()) == before


def test_a_run_whose_recipe_asks_for_a_giant_generator_is_refused_before_building(trained, tmp_path):
    run = _copy(trained, tmp_path)
    text = (run / "recipe.yaml").read_text()
    assert "hidden:\n  - 32" in text
    (run / "recipe.yaml").write_text(text.replace("hidden:\n  - 32", f"hidden:\n  - {2**40}", 1))
    for ck in (run / "checkpoints").iterdir():  # the run's author rewrites the fingerprints too
        state = json.loads((ck / "state.json").read_text())
        state["recipe_sha256"] = None
        (ck / "state.json").write_text(json.dumps(state))
    with pytest.raises(GankitError) as e:
        load_generator(run)
    assert "does not fit" in str(e.value), str(e.value)


# -- an --out that names a file of the run being read ------------------------------------------------
@pytest.mark.parametrize("verb,target", [("report", "recipe.yaml"), ("plot", "metrics.jsonl"),
                                         ("sample", "checkpoints/step-0000004/state.json"),
                                         ("compare", "metrics.jsonl")])
def test_an_out_naming_a_file_of_the_run_is_refused(trained, tmp_path, verb, target, capsys):
    run = _copy(trained, tmp_path)
    out = run / target
    before = out.read_bytes()
    args = [verb, str(run), "--out", str(out)] + (["--num", "4"] if verb == "sample" else [])
    assert main(args) == 2
    assert "run directory" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["report", str(run), "--out", str(run / "report.html")]) == 0  # its own page may be written again


@pytest.mark.parametrize("verb", ["sample", "neighbours"])
def test_a_draw_too_large_to_hold_is_refused(trained, tmp_path, verb, capsys):
    assert main([verb, str(trained / "run"), "--out", str(tmp_path / "o.png"), "--num", str(10**9)]) == 2
    assert "--num" in capsys.readouterr().err and not (tmp_path / "o.png").exists()
