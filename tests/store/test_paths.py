"""A run directory whose path is not valid UTF-8 is refused at the start, with the reason."""
import os
import shutil
import sys

import pytest

from gankit.cli import main
from runs.conftest import run_dir  # noqa: F401  (the shared tiny trained run)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux paths are bytes; others are Unicode")


def test_train_refuses_an_out_that_is_not_utf8(tiny_recipe, tmp_path, capsys):
    out = tmp_path / os.fsdecode(b"run-\xff")
    assert main(["train", str(tiny_recipe), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not valid UTF-8" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.slow
def test_readers_refuse_a_run_whose_path_is_not_utf8(run_dir, tmp_path, capsys):  # noqa: F811
    run = tmp_path / os.fsdecode(b"run-\xff")
    shutil.copytree(run_dir, run)
    for verb in (["report", str(run)], ["sample", str(run), "--num", "2", "--out", str(tmp_path / "s.png")],
                 ["export", str(run), str(tmp_path / "model")], ["resume", str(run)],
                 ["export", str(run_dir), str(tmp_path / os.fsdecode(b"model-\xfe"))]):
        assert main(verb) == 2, verb
        err = capsys.readouterr().err
        assert "not valid UTF-8" in err and "damaged" not in err, (verb, err)
