"""Checkpoint folders: complete ones only, rotation, best, crash leftovers, safe loading, the Checkpointer."""
import json
import pickle

import pytest
import torch
from accelerate import Accelerator

from gankit.errors import GankitError
from gankit.runs.files import EMA_FILE, STATE_FILE
from gankit.training import checkpoint as ckpt


def _fake(run, step):
    p = run / "checkpoints" / ckpt.name_for(step)
    p.mkdir(parents=True)
    (p / STATE_FILE).write_text(json.dumps({"step": step}))
    return p


def test_latest_rotation_and_best(tmp_path):
    for s in (1, 2, 3):
        _fake(tmp_path, s)
    (tmp_path / "checkpoints" / ckpt.name_for(4)).mkdir()  # no state.json: incomplete, ignored
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-0000001", "step-0000002", "step-0000003"]
    assert ckpt.latest(tmp_path).name == "step-0000003"
    best = ckpt.publish_best(tmp_path, tmp_path / "checkpoints" / "step-0000002", {"metric": "fd", "value": 1.5})
    ckpt.rotate(tmp_path, keep=1)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-0000003"]
    assert ckpt.best(tmp_path) == best  # best lives apart and survives rotation
    assert json.loads((best / "best.json").read_text()) == {"source": "step-0000002", "metric": "fd", "value": 1.5}


def test_crash_leftovers_are_cleaned_and_a_parked_checkpoint_put_back(tmp_path):
    _fake(tmp_path, 1)
    ck = tmp_path / "checkpoints"
    (ck / ".tmp-step-0000002").mkdir()
    (ck / ckpt.name_for(1)).rename(ck / ".old-step-0000001")  # a crash between the two renames of a swap
    ckpt.clean_temporaries(tmp_path)
    assert sorted(p.name for p in ck.iterdir()) == ["step-0000001"]


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    p = _fake(tmp_path, 1)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (p / "optimizer.bin").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(GankitError, match="refused to load a file that is not plain tensors"):
        ckpt.verify(p)
    (p / STATE_FILE).write_text("{not json")
    with pytest.raises(GankitError, match="cannot read state.json"):
        ckpt.read_state(p)


def test_checkpointer_saves_and_restores_exactly(tmp_path):
    acc = Accelerator(cpu=True)
    net = acc.prepare(torch.nn.Linear(3, 2))
    ema = torch.nn.Linear(3, 2)
    c = ckpt.Checkpointer(acc, tmp_path, every=2, keep=2)
    assert [c.due(s, False) for s in (1, 2, 3)] == [False, True, False] and c.due(3, True)
    saved = {k: v.clone() for k, v in net.state_dict().items()}
    ema_saved = {k: v.clone() for k, v in ema.state_dict().items()}
    path = c.save(2, {"step": 2}, ema)
    assert path == c.latest() and (path / EMA_FILE).is_file()
    with torch.no_grad():
        for p in (*net.parameters(), *ema.parameters()):
            p.add_(1.0)
    assert c.load(path, ema) == {"step": 2}
    assert all(torch.equal(v, saved[k]) for k, v in net.state_dict().items())
    assert all(torch.equal(v, ema_saved[k]) for k, v in ema.state_dict().items())
    with pytest.raises(GankitError, match="has no complete checkpoint"):
        c.load(None)
