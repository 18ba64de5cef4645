"""Integrity: the pickle-format files of a checkpoint hold nothing but plain tensors, or it is refused;
the one choice of the newest intact checkpoint."""
import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from gankit.errors import GankitError
from gankit.store import checkpoints as ckpt
from gankit.store import intact
from gankit.store.files import MODEL_FILE, STATE_FILE


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


def _intact(run, step):
    p = run / "checkpoints" / ckpt.name_for(step)
    p.mkdir(parents=True)
    (p / STATE_FILE).write_text(json.dumps({"step": step}))
    save_file({"w": torch.zeros(2)}, str(p / MODEL_FILE))
    return p


def test_choose_takes_the_newest_intact_checkpoint_and_moves_aside_only_when_resuming(tmp_path):
    _intact(tmp_path, 2)
    newest = _intact(tmp_path, 4)
    (newest / MODEL_FILE).write_bytes(b"cut")  # damaged after it was written
    chosen, note = intact.choose(tmp_path, None, "RUN", resuming=False)
    assert chosen.name == ckpt.name_for(2) and newest.is_dir()  # reading leaves it where it is
    assert note.startswith(f"RUN: {newest} is damaged: {MODEL_FILE} is damaged") and "moves damaged" in note
    chosen, note = intact.choose(tmp_path, None, "--resume", resuming=True)
    assert chosen.name == ckpt.name_for(2) and not newest.exists()
    assert (tmp_path / "checkpoints" / f"{intact.DAMAGED}{newest.name}").is_dir()
    assert f"(moved aside to {intact.DAMAGED}{newest.name})" in note
    assert intact.choose(tmp_path, None, "--resume", resuming=True) == (chosen, None)


def test_choose_with_none_intact_lists_what_was_checked_and_moves_nothing(tmp_path):
    (_intact(tmp_path, 2) / STATE_FILE).unlink()
    with pytest.raises(GankitError, match="--resume: no intact checkpoint .*step-0000002: state.json is missing"):
        intact.choose(tmp_path, None, "--resume", resuming=True)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == [ckpt.name_for(2)]
