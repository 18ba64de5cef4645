"""gankit bench through the CLI: --json fields, overrides reach the timed recipe, the table, refusals."""
import json
import re

import pytest

from gankit.cli import main
from gankit.config import recipe


@pytest.mark.slow
def test_json_reflects_the_overrides_and_the_step_count(tiny_recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    batch = recipe.load(tiny_recipe).trainer.batch_size // 2
    steps = 2
    assert main(["bench", str(tiny_recipe), f"trainer.batch_size={batch}", "--steps", str(steps), "--warmup", "1",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["batch_size"] == batch and r["steps"] == steps and r["precision"] == "no"
    assert r["ms_per_step"] > 0
    assert r["images_per_s"] == pytest.approx(batch / (r["ms_per_step"] / 1e3), abs=0.1)
    split = r["split"]
    assert {"d_step", "g_step", "other"} <= set(split)
    assert all(0 <= v <= 1 for v in split.values())
    assert sum(split.values()) == pytest.approx(1.0, abs=0.02)
    assert r["achieved_gflops"] == pytest.approx(r["gflop_per_step"] / (r["ms_per_step"] / 1e3), rel=0.05, abs=0.1)
    assert list(tmp_path.iterdir()) == []  # no run written


@pytest.mark.slow
def test_without_json_a_table_is_printed(tiny_recipe, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    batch = recipe.load(tiny_recipe).trainer.batch_size // 2
    assert main(["bench", str(tiny_recipe), f"trainer.batch_size={batch}", "--steps", "1", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    assert re.search(rf"^device \S+  precision no  channels_last False  batch {batch}$", out, re.M)
    assert re.search(r"^median step +[\d.]+ ms .*over 1 steps\)$", out, re.M)
    split = re.search(r"^split of a step +(.*)$", out, re.M).group(1)
    shares = [float(x) for x in re.findall(r"([\d.]+)%", split)]
    assert "d_step" in split and "g_step" in split
    assert sum(shares) == pytest.approx(100.0, abs=2.0)


def test_a_bad_override_is_refused_before_timing(tiny_recipe, capsys):
    assert main(["bench", str(tiny_recipe), "trainer.batch_size=0", "--steps", "1", "--warmup", "0", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gankit: error: ") and "trainer.batch_size" in captured.err
    assert "Traceback" not in captured.err


def test_a_missing_recipe_is_one_error(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "none.yaml"), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and "none.yaml" in err and "Traceback" not in err
