"""Checkpoint folders: complete ones only, rotation, best, crash leftovers, the EMA weights."""
import json

import torch

from gankit.store import checkpoints as ckpt
from gankit.store.files import EMA_FILE, STATE_FILE


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
    assert ckpt.best_source(tmp_path) is None
    best = ckpt.publish_best(tmp_path, tmp_path / "checkpoints" / "step-0000002", {"metric": "fd", "value": 1.5})
    ckpt.rotate(tmp_path, keep=1)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-0000003"]
    assert ckpt.best(tmp_path) == best  # best lives apart and survives rotation
    assert json.loads((best / "best.json").read_text()) == {"source": "step-0000002", "metric": "fd", "value": 1.5}
    assert ckpt.best_source(tmp_path) == "step-0000002"
    (best / "best.json").write_text("{cut")
    assert ckpt.best_source(tmp_path) is None


def test_crash_leftovers_are_cleaned_and_a_parked_checkpoint_put_back(tmp_path):
    _fake(tmp_path, 1)
    ck = tmp_path / "checkpoints"
    (ck / ".tmp-step-0000002").mkdir()
    (ck / ckpt.name_for(1)).rename(ck / ".old-step-0000001")  # a crash between the two renames of a swap
    ckpt.clean_temporaries(tmp_path)
    assert sorted(p.name for p in ck.iterdir()) == ["step-0000001"]


def test_ema_weights_round_trip_and_are_absent_when_not_kept(tmp_path):
    p = _fake(tmp_path, 1)
    assert ckpt.read_ema(p, torch.device("cpu")) is None
    weights = {"w": torch.arange(6.0).reshape(2, 3).t(), "b": torch.ones(2)}  # a non-contiguous tensor too
    ckpt.write_ema(p, weights)
    assert (p / EMA_FILE).is_file()
    back = ckpt.read_ema(p, torch.device("cpu"))
    assert set(back) == {"w", "b"} and all(torch.equal(back[k], v) for k, v in weights.items())
