"""The Checkpointer: saves through accelerate and the store, restores exactly (the folders themselves: tests/store)."""
import pytest
import torch
from accelerate import Accelerator

from gankit.errors import GankitError
from gankit.store.files import EMA_FILE
from gankit.store.state import CheckpointState
from gankit.training import checkpoint as ckpt


def test_checkpointer_saves_and_restores_exactly(tmp_path):
    acc = Accelerator(cpu=True)
    net = acc.prepare(torch.nn.Linear(3, 2))
    ema = torch.nn.Linear(3, 2)
    c = ckpt.Checkpointer(acc, tmp_path, every=2, keep=2)
    assert [c.due(s, False) for s in (1, 2, 3)] == [False, True, False] and c.due(3, True)
    saved = {k: v.clone() for k, v in net.state_dict().items()}
    ema_saved = {k: v.clone() for k, v in ema.state_dict().items()}
    path = c.save(2, CheckpointState(step=2), ema)
    assert path == c.latest() and (path / EMA_FILE).is_file()
    with torch.no_grad():
        for p in (*net.parameters(), *ema.parameters()):
            p.add_(1.0)
    assert c.load(path, ema) == CheckpointState(step=2)
    assert all(torch.equal(v, saved[k]) for k, v in net.state_dict().items())
    assert all(torch.equal(v, ema_saved[k]) for k, v in ema.state_dict().items())
    with pytest.raises(GankitError, match="has no complete checkpoint"):
        c.load(None)
