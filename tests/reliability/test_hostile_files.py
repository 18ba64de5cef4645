"""Small hostile files do bounded work: a zip bomb, a YAML alias bomb, a huge recipe, and numbers in run
files that are not what they must be (``1e400``, ``NaN``, floats where whole numbers belong)."""
import json
import resource
import shutil
import subprocess
import sys
import time
import zipfile

import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.config import recipe
from gankit.errors import GankitError
from gankit.runs.export import export_generator
from gankit.runs.inference import load_generator
from gankit.runs.model_folder import load_folder
from gankit.training.trainer import Trainer

from .helpers import ROOT, SMALL, env


_MEASURE = """
import resource, subprocess, sys
limit = int(sys.argv[1])
def cap():
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit << 30, limit << 30))
done = subprocess.run([sys.executable, "-m", "gankit", *sys.argv[2:]], preexec_fn=cap)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def _peak_kib(*args, limit_gib: int = 0) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``python -m gankit ARGS`` as the only child of a fresh process; (its result, its peak resident
    memory in KiB: ``ru_maxrss`` of RUSAGE_CHILDREN, nothing subtracted). ``limit_gib`` caps its address space."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(limit_gib), *map(str, args)], capture_output=True,
                          text=True, env=env(OPENBLAS_NUM_THREADS=1), cwd=ROOT, timeout=300)
    return done, int(done.stdout.split()[-1])


# -- zip bombs -------------------------------------------------------------------------------------
MEMBER = 240 * 2**20  # under the 256 MiB an encoded image may have, so only the compression ratio refuses it


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A ~0.5 MB zip of two members named .png that inflate to 240 MiB of zeros each."""
    path = tmp_path_factory.mktemp("zip") / "bomb.zip"
    zeros = bytes(2**24)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for i in range(2):
            with z.open(f"img{i}.png", "w") as f:
                for _ in range(MEMBER // len(zeros)):
                    f.write(zeros)
    assert path.stat().st_size < 2**20
    return path


def test_prepare_data_on_a_zip_bomb_stays_small(bomb, tmp_path):
    small = tmp_path / "one.zip"  # the same command on one real image: the interpreter, torch and PIL
    with zipfile.ZipFile(small, "w") as z:
        with z.open("a.png", "w") as f:
            Image.new("RGB", (8, 8)).save(f, format="png")
    ok, floor = _peak_kib("prepare-data", small, tmp_path / "ok", "--workers", "1")
    assert ok.returncode == 0, ok.stderr[-2000:]
    t = time.perf_counter()
    done, peak = _peak_kib("prepare-data", bomb, tmp_path / "out", "--workers", "1")
    assert done.returncode == 2 and "zip bomb" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    # 300 MB above what the command needs for one 8×8 image; reading a member whole takes 480 MB more
    assert peak - floor < 300 * 1024, f"peak {peak / 1024:.0f} MiB, floor {floor / 1024:.0f} MiB"
    assert time.perf_counter() - t < 60


# -- YAML -------------------------------------------------------------------------------------------
def _alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _run(folder, recipe_text: str, rows: list[str]):
    folder.mkdir(parents=True)
    (folder / "recipe.yaml").write_text(recipe_text)
    (folder / "metrics.jsonl").write_text("".join(r + "\n" for r in rows))
    return folder


ROWS = ['{"step": 2, "d_loss": 1.0, "g_loss": 0.5}', '{"step": 4, "d_loss": 0.9, "g_loss": 0.6, "eval/fd": 3.5}']


def test_compare_refuses_a_recipe_alias_bomb_quickly(tmp_path):
    good = _run(tmp_path / "good", "trainer: {seed: 1}\n", ROWS)
    bad = _run(tmp_path / "bad", _alias_bomb(), ROWS)
    t = time.perf_counter()
    done, _ = _peak_kib("compare", good, bad, "--out", tmp_path / "page.html", limit_gib=4)
    assert done.returncode == 2, done.stderr[-2000:]
    assert str(bad / "recipe.yaml") in done.stderr and "alias" in done.stderr and "Traceback" not in done.stderr
    assert time.perf_counter() - t < 120 and not (tmp_path / "page.html").exists()


def test_a_huge_recipe_is_refused_unread(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("base: " + str(SMALL) + "\n" + "# padding\n" * 600_000)  # 6 MB of comments
    with pytest.raises(GankitError) as e:
        recipe.load(path)
    assert str(path) in str(e.value) and "MiB" in str(e.value)


def test_a_sweep_space_goes_through_the_same_bounded_reader(tmp_path):
    from gankit.experiments.space import read

    path = tmp_path / "space.yaml"
    path.write_text("params: {}\n" + "# padding\n" * 600_000)
    with pytest.raises(GankitError) as e:
        read(path)
    assert str(path) in str(e.value) and "MiB" in str(e.value)


# -- numbers in run files ------------------------------------------------------------------------------
@pytest.mark.parametrize("step", ["1e400", "NaN", "-3", "2.5", "true"])
def test_compare_skips_a_metrics_row_whose_step_is_not_a_whole_number(tmp_path, step):
    good = _run(tmp_path / "good", "trainer: {seed: 1}\n", ROWS)
    odd = _run(tmp_path / "odd", "trainer: {seed: 2}\n",
               ROWS + [f'{{"step": {step}, "d_loss": 0.7, "eval/fd": 2.0}}', '{"step": 6, "d_loss": 1e400}'])
    with pytest.warns(RuntimeWarning) as caught:
        assert main(["compare", str(good), str(odd), "--out", str(tmp_path / "page.html")]) == 0
    said = [str(w.message) for w in caught if "metrics.jsonl" in str(w.message)]
    assert len(said) == 1 and str(odd / "metrics.jsonl") in said[0] and "step" in said[0], said
    assert (tmp_path / "page.html").is_file()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("numbers")
    cfg = recipe.load(SMALL, ["trainer.max_steps=4"])
    Trainer(cfg, root / "run").fit()
    recipe.save(cfg, root / "run" / "recipe.yaml")
    export_generator(root / "run", root / "folder")
    return root


@pytest.mark.parametrize("field,value", [("img_shape", [1, 1e400, 8]), ("img_shape", [1, 8.0, 8]),
                                         ("num_classes", float("nan")), ("batch", 1e400)])
def test_a_state_json_number_out_of_kind_makes_the_checkpoint_damaged(trained, tmp_path, field, value):
    run = shutil.copytree(trained / "run", tmp_path / "run")
    state_path = run / "checkpoints" / "step-0000004" / "state.json"
    state = json.loads(state_path.read_text())
    state[field] = value
    state_path.write_text(json.dumps(state))
    with pytest.warns(RuntimeWarning, match=f"step-0000004.*{field}"):
        G = load_generator(run)  # the newest intact checkpoint instead
    assert G(torch.randn(2, G.z_dim)).shape == (2, 1, 8, 8)


@pytest.mark.parametrize("field,value", [("num_classes", float("nan")), ("img_shape", [1, 1e400, 8]),
                                         ("img_shape", "1x8x8")])
def test_a_model_folder_config_number_out_of_kind_is_refused(trained, tmp_path, field, value):
    folder = shutil.copytree(trained / "folder", tmp_path / "folder")
    config = json.loads((folder / "config.json").read_text())
    config[field] = value
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(GankitError) as e:
        load_folder(folder)
    assert field in str(e.value) and "config.json" in str(e.value)



def test_a_dataset_json_label_too_large_for_a_model_is_refused(tmp_path):
    from gankit.data.prepare import prepare

    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("L", (8, 8)).save(src / name)
    (src / "dataset.json").write_text(json.dumps({"labels": [["a.png", 0], ["b.png", 10**12]]}))
    with pytest.raises(GankitError) as e:
        prepare(src, tmp_path / "out", workers=1)
    assert "dataset.json" in str(e.value) and str(10**12) in str(e.value)
    assert not (tmp_path / "out" / "meta.json").exists()
