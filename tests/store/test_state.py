"""state.json: one schema, written atomically, read with the defaults older checkpoints lack."""
import json
from dataclasses import asdict

import pytest

from gankit.errors import GankitError
from gankit.store.files import STATE_FILE
from gankit.store.state import CheckpointState, TrainState, read


def test_write_and_read_round_trip_in_the_order_of_the_schema(tmp_path):
    state = CheckpointState(step=6, batch=7, skipped=1, best=1.5, best_step=4, recipe_sha256="ab", num_processes=2,
                            img_shape=[1, 28, 28], num_classes=10, parts={"augment": {"p": 0.25}})
    assert state.write(tmp_path) == tmp_path / STATE_FILE
    assert list(json.loads((tmp_path / STATE_FILE).read_text())) == list(asdict(state))
    assert read(tmp_path) == state
    assert state.counters() == TrainState(step=6, batch=7, skipped=1, best=1.5, best_step=4)
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE]  # no temporary left beside it


def test_older_checkpoints_take_the_defaults_and_unknown_fields_are_ignored(tmp_path):
    (tmp_path / STATE_FILE).write_text(json.dumps({"step": 2, "batch": 2, "skipped": 0, "someday": True}))
    state = read(tmp_path)
    assert state == CheckpointState(step=2, batch=2)
    assert (state.img_shape, state.num_classes, state.recipe_sha256, state.parts) == (None, None, None, {})


def test_a_damaged_state_json_gives_the_clear_error(tmp_path):
    with pytest.raises(GankitError, match="cannot read state.json"):
        read(tmp_path)  # missing
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(GankitError, match="cannot read state.json"):
        read(tmp_path)
    (tmp_path / STATE_FILE).write_text("[1, 2]")
    with pytest.raises(GankitError, match="state.json holds no mapping"):
        read(tmp_path)
