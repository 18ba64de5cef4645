import os

import pytest
from filelock import FileLock

from gankit.cli import main


def _train(out):
    from tests.conftest import ROOT

    assert main(["train", str(ROOT / "tests/recipes/tiny.yaml"), "trainer.eval_every=null", "ema.enabled=true",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A tiny trained run (4 steps, EMA, checkpoints at steps 2 and 4), shared by the end-to-end tests,
    which only read it (those that write into a run copy it first).

    Trained once per session: under pytest-xdist (where a session fixture runs once per worker) the first
    worker to ask trains it in the folder the workers share, under a file lock, and the others wait for
    it and read it (pytest-xdist's documented pattern); `-n 0` trains it in the session's own folder."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _train(tmp_path_factory.mktemp("tiny") / "run")
    shared = tmp_path_factory.getbasetemp().parent  # pytest-N/, above each worker's popen-gwK/
    out, done = shared / "tiny-run", shared / "tiny-run.done"
    with FileLock(str(shared / "tiny-run.lock")):
        if not done.is_file():
            if out.exists():  # a worker that failed half-way: train afresh
                import shutil

                shutil.rmtree(out)
            _train(out)
            done.touch()
    return out
