"""Arbitrary YAML text and override strings: recipe.load gives a recipe or a GankitError, nothing else."""
import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig

from gankit.config import recipe
from gankit.errors import GankitError

from .helpers import SMALL

KEYS = ["trainer.max_steps", "trainer.batch_size", "trainer.precision", "optim.g.lr", "optim.d.betas",
        "generator", "generator.name", "ema.decay", "plugins", "data", "trainer", "base", "description"]
VALUES = st.one_of(st.text(max_size=12), st.integers(-10, 10).map(str), st.sampled_from(
    ["null", "[]", "{}", "[1, 2]", "{name: mlp}", "${trainer.seed}", "${oc.env:HOME}", "1e-3", "true", "'x"]))
YAMLISH = st.text(alphabet=string.printable + "äλ\t", max_size=200) | st.builds(
    lambda k, v: "\n".join(f"{a.split('.')[0]}:\n  {a.split('.')[-1]}: {b}" for a, b in zip(k, v)),
    st.lists(st.sampled_from(KEYS), max_size=4), st.lists(VALUES, max_size=4))
OVERRIDE = st.text(max_size=30) | st.builds(lambda k, s, v: f"{k}{s}{v}", st.sampled_from(KEYS + ["+x", "a..b", ""]),
                                            st.sampled_from(["=", "==", ":", "= "]), VALUES)
SETTINGS = settings(max_examples=150, deadline=10000, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_or_gankit_error(*args):
    try:
        assert isinstance(recipe.load(*args), DictConfig)
    except GankitError as e:
        assert str(e).strip()


@SETTINGS
@given(text=YAMLISH)
@example(text="0")  # a lone scalar once escaped as OSError
@example(text="plugins:\n  plugins: ")  # a mapping where the schema wants a list (TypeError)
def test_arbitrary_yaml(tmp_path, text):
    f = tmp_path / "fuzz.yaml"
    f.write_text(text, encoding="utf-8")
    _load_or_gankit_error(f)


@SETTINGS
@given(overrides=st.lists(OVERRIDE, max_size=3))
@example(overrides=["trainer=[]"])
def test_arbitrary_overrides(overrides):
    _load_or_gankit_error(SMALL, overrides)
