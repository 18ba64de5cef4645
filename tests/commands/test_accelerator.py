"""One way to build an Accelerator: check, bench and eval treat a recipe's trackers and precision as train does
(trackers start only in a training run, with their files in its run directory)."""
import re

import pytest

from gankit.cli import main
from tests.conftest import ROOT


@pytest.mark.parametrize("tracker", ["tensorboard", "wandb"])
def test_check_of_a_recipe_with_a_tracker_times_its_steps_and_logs_nothing(tracker, tiny_recipe, tmp_path,
                                                                           monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(tiny_recipe), f"trackers=[{tracker}]", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith(": OK") and "ms per step" in out
    assert list(tmp_path.iterdir()) == []  # no tensorboard/, wandb/ or runs/ here


@pytest.mark.slow
@pytest.mark.parametrize("tracker", ["tensorboard", "wandb"])
def test_bench_of_a_recipe_with_a_tracker_times_its_steps_and_logs_nothing(tracker, tiny_recipe, tmp_path,
                                                                           monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.chdir(tmp_path)
    assert main(["bench", str(tiny_recipe), f"trackers=[{tracker}]", "--steps", "1", "--warmup", "0"]) == 0
    assert "median step" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_the_trainer_builder_is_the_only_place_an_accelerator_is_made():
    made = [str(p.relative_to(ROOT)) for p in (ROOT / "gankit").rglob("*.py")
            if re.search(r"\bAccelerator\(", p.read_text(encoding="utf-8"))]
    assert made == ["gankit/training/accel.py"]
