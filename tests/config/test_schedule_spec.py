"""gankit.config.schedule_spec: what a `schedules` node may hold and which keys may follow a schedule,
checked before anything is built."""
import pytest

from gankit.config.schedule_spec import node_problems


@pytest.mark.parametrize("key, node, says", [
    ("trainer.batch_size", {"name": "linear"}, "cannot follow a schedule"),
    ("optim.g.lr", "cosine", "write a mapping with at least a name"),
    ("optim.g.lr", {"name": "cosin"}, "Did you mean 'cosine'"),
    ("optim.g.lr", {"name": "linear", "steps": 5, "kimg": 1}, "not both"),
    ("optim.g.lr", {"name": "linear", "end": "low"}, "schedules[optim.g.lr].end: must be a number"),
    ("optim.g.lr", {"name": "linear", "warmup": 9, "steps": 5}, "longer than the schedule"),
    ("optim.g.lr", {"name": "linear", "length": 5}, "schedules[optim.g.lr].length: not a schedule key"),
    ("penalties[0].gamma", {"name": "linear", "steps": -1}, "must be ≥ 0"),
])
def test_bad_nodes_name_the_key(key, node, says):
    found = node_problems(key, node)
    assert any(says in p for p in found), found


def test_schedulable_keys_pass():
    for key in ("optim.g.lr", "optim.d.betas[1]", "optim.d.weight_decay", "optim.g.args.eps", "penalties[2].gamma",
                "augment.p", "loss.margin", "ema.half_life_kimg", "ema.decay"):
        assert node_problems(key, {"name": "cosine", "end": 0.1}) == [], key
