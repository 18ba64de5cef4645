"""One training run: the run directory's guard, the stored recipe, resume-safe changes."""
import pytest
from omegaconf import OmegaConf

from gankit.config import recipe
from gankit.errors import GankitError
from gankit.store.files import RECIPE_FILE
from gankit.training.run import train


def _cfg(tiny_recipe, *over):
    return recipe.load(tiny_recipe, ["trainer.max_steps=2", "trainer.checkpoint_every=2", *over])


def test_a_run_stores_its_recipe_and_refuses_a_used_folder(tiny_recipe, tmp_path):
    run = tmp_path / "run"
    summary = train(_cfg(tiny_recipe), run)
    assert summary["run_dir"] == str(run) and summary["exit_code"] == 0
    stored = OmegaConf.load(run / RECIPE_FILE)
    assert stored.trainer.max_steps == 2
    with pytest.raises(GankitError, match=r"^--out: .* already exists and is not empty. Resume it with --resume"):
        train(_cfg(tiny_recipe), run)
    (tmp_path / "file").write_text("x")
    with pytest.raises(GankitError, match="is a file, not a folder"):
        train(_cfg(tiny_recipe), tmp_path / "file")


def test_resume_accepts_only_resume_safe_changes(tiny_recipe, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_recipe), run)
    with pytest.raises(GankitError, match=r"differs from the one stored .* at optim\.d\.lr"):
        train(_cfg(tiny_recipe, "optim.d.lr=0.5"), resume=run)
    summary = train(_cfg(tiny_recipe, "trainer.max_steps=3"), resume=run)
    assert summary["step"] == 3
    assert OmegaConf.load(run / RECIPE_FILE).trainer.max_steps == 3  # a later plain resume continues with it
    with pytest.raises(GankitError, match="is not a gankit run"):
        train(None, resume=tmp_path)
