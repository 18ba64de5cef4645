"""Integrity: the pickle-format files of a checkpoint hold nothing but plain tensors, or it is refused."""
import json
import pickle

import pytest

from gankit.errors import GankitError
from gankit.store import checkpoints as ckpt
from gankit.store import intact
from gankit.store.files import STATE_FILE


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    p = tmp_path / "checkpoints" / ckpt.name_for(1)
    p.mkdir(parents=True)
    (p / STATE_FILE).write_text(json.dumps({"step": 1}))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (p / "optimizer.bin").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(GankitError, match="refused to load a file that is not plain tensors"):
        intact.verify(p)
