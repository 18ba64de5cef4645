"""Command-line overrides: dotted keys, and a schedule's node by its recipe key in brackets."""
import pytest

from gankit.config import recipe
from gankit.config.overrides import parse_override
from gankit.errors import GankitError


def test_a_dotted_key_sets_one_value():
    assert parse_override("trainer.max_steps=7") == {"trainer": {"max_steps": 7}}


def test_a_schedule_is_addressed_by_its_recipe_key_in_brackets():
    assert parse_override("schedules[optim.g.lr].end=2e-4") == {"schedules": {"optim.g.lr": {"end": 2e-4}}}
    assert parse_override("schedules[penalties[0].gamma]={name: cosine, end: 0.1}") == {
        "schedules": {"penalties[0].gamma": {"name": "cosine", "end": 0.1}}}


def test_a_bare_name_in_a_component_list_is_that_component():
    assert parse_override("metrics=[fd,{name: kid, subsets: 2},memorisation]") == {
        "metrics": [{"name": "fd"}, {"name": "kid", "subsets": 2}, {"name": "memorisation"}]}
    assert parse_override("penalties=[r1]") == {"penalties": [{"name": "r1"}]}
    assert parse_override("plugins=[a.b]") == {"plugins": ["a.b"]}  # a list of names stays one


def test_bracket_overrides_merge_into_a_recipe(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["schedules[optim.g.lr]={name: linear}", "schedules[optim.g.lr].end=0.0",
                                    "schedules[optim.d.betas[1]].name=cosine"])
    assert dict(cfg.schedules["optim.g.lr"]) == {"name": "linear", "end": 0.0}
    assert dict(cfg.schedules["optim.d.betas[1]"]) == {"name": "cosine"}


@pytest.mark.parametrize("text, says", [
    ("trainer.max_steps", "expected key=value"),
    ("+trainer.seed=1", "prefixes are not used"),
    ("trainer[0]=1", "not a dotted key path"),
    ("schedules[optim.g.lr].end=[1", "cannot parse the value"),
])
def test_bad_overrides_say_what_is_wrong(text, says):
    with pytest.raises(GankitError, match=says.replace("[", r"\[")):
        parse_override(text)


def test_one_item_of_a_list_is_set_in_place(tiny_recipe):
    two = "penalties=[{name: r1, gamma: 0.5, interval: 16}, {name: r2, gamma: 0.5}]"
    cfg = recipe.load(tiny_recipe, [two, "penalties[0].gamma=2.0", "penalties[1].interval=4"])
    assert [(p.name, p.gamma, p.interval) for p in cfg.penalties] == [("r1", 2.0, 16), ("r2", 0.5, 4)]


@pytest.mark.parametrize("override, says", [
    ("penalties[1].gamma=2.0", r"penalties has 1 item\(s\) here \(index 0 to 0\)"),
    ("trainer[0].seed=1", "trainer is not a list"),
])
def test_a_list_item_that_is_not_there_is_named(tiny_recipe, override, says):
    with pytest.raises(GankitError, match=says):
        recipe.load(tiny_recipe, ["penalties=[{name: r1, gamma: 0.5}]", override])
