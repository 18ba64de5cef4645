"""gankit.config.run_keys: `interval` and `holdout` are the run's keys, split off their component nodes in one place."""
import pytest

from gankit.config.run_keys import PenaltySpec, split, split_holdout, split_interval
from gankit.errors import GankitError


def test_interval_is_a_key_of_any_penalty_node_not_of_the_penalty():
    node, interval = split_interval({"name": "r1", "gamma": 10.0, "interval": 4}, "penalties[0]")
    assert node == {"name": "r1", "gamma": 10.0} and interval == 4
    assert split_interval({"name": "wgan_gp"}, "penalties[1]")[1] == 1
    for bad in (0, -2, 1.5, True, "4"):
        with pytest.raises(GankitError, match=r"^penalties\[0\]\.interval: must be a whole number ≥ 1"):
            split_interval({"name": "r1", "interval": bad}, "penalties[0]")


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_a_bad_holdout_names_the_key(bad):
    with pytest.raises(GankitError, match=r"data\.holdout: must be a whole number"):
        split_holdout({"name": "synthetic", "holdout": bad})


def test_the_dataset_never_sees_the_key():
    node, n = split_holdout({"name": "mnist", "root": "x", "holdout": 7})
    assert node == {"name": "mnist", "root": "x"} and n == 7


def test_split_gives_one_record_per_penalty_and_the_data_node_without_holdout():
    data = {"name": "mnist", "holdout": 20}
    pens = [{"name": "r1", "gamma": 1.0, "interval": 16}, {"name": "path_length"}]
    keys = split(data, pens)
    assert keys.data == {"name": "mnist"} and keys.holdout == 20 and keys.problems == ()
    assert keys.penalties == (PenaltySpec(0, "r1", {"name": "r1", "gamma": 1.0}, 16),
                              PenaltySpec(1, "path_length", {"name": "path_length"}, 1))
    assert [p.key for p in keys.penalties] == ["penalties[0]", "penalties[1]"]
    assert data == {"name": "mnist", "holdout": 20} and "interval" in pens[0]  # the recipe's nodes stay as they were


def test_split_lists_every_bad_key_and_drops_it_so_the_component_can_still_be_checked():
    keys = split({"name": "mnist", "holdout": -1}, [{"name": "r1", "interval": 0}, {"name": "r2", "interval": "x"}])
    keys_named = [p.split(":")[0] for p in keys.problems]
    assert keys_named == ["data.holdout", "penalties[0].interval", "penalties[1].interval"]
    assert keys.data == {"name": "mnist"} and keys.holdout == 0
    assert [(p.node, p.interval) for p in keys.penalties] == [({"name": "r1"}, 1), ({"name": "r2"}, 1)]
