import pytest

from gankit.cli import main


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A tiny trained run (4 steps, EMA, checkpoints at steps 2 and 4), shared by the end-to-end tests."""
    from tests.conftest import ROOT

    out = tmp_path_factory.mktemp("tiny") / "run"
    assert main(["train", str(ROOT / "tests/recipes/tiny.yaml"), "trainer.eval_every=null", "ema.enabled=true",
                 "--out", str(out)]) == 0
    return out
