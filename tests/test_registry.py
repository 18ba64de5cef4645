import pytest
from omegaconf import OmegaConf

from gankit.errors import GankitError
from gankit.config.registry import GENERATORS, LOSSES, Registry


def make_registry():
    reg = Registry("widget")

    @reg.register("box")
    class Box:
        """A box."""

        def __init__(self, width: int, height: int = 2, img_shape: tuple = (1, 1, 1)):
            self.width, self.height, self.img_shape = width, height, img_shape

    return reg, Box


def test_register_and_build_with_context_and_kwargs():
    reg, Box = make_registry()
    box = reg.build({"name": "box", "width": 3}, "thing", {"img_shape": (3, 8, 8)})
    assert isinstance(box, Box) and (box.width, box.height, box.img_shape) == (3, 2, (3, 8, 8))
    # a recipe's own value wins over the context; DictConfig nodes work too
    box = reg.build(OmegaConf.create({"name": "box", "width": 1, "img_shape": [1, 2, 2]}), "thing", {"img_shape": (3, 8, 8)})
    assert list(box.img_shape) == [1, 2, 2]
    assert reg.entry("box").doc == "A box."


def test_unknown_name_suggests_the_closest():
    reg, _ = make_registry()
    with pytest.raises(GankitError) as e:
        reg.build({"name": "bx", "width": 1}, "generator")
    msg = str(e.value)
    assert "generator.name" in msg and "Did you mean 'box'" in msg and "Registered widgets: box" in msg


def test_unknown_and_missing_arguments_name_the_key_path_and_accepted_arguments():
    reg, _ = make_registry()
    problems = reg.check({"name": "box", "widht": 1}, "generator")
    assert len(problems) == 2
    assert any("generator.widht" in p and "Did you mean 'width'" in p and "height: int = 2" in p for p in problems)
    assert any("generator.width: missing required argument" in p for p in problems)
    with pytest.raises(GankitError):
        reg.build({"name": "box", "widht": 1}, "generator")


def test_null_drops_an_argument_the_component_lacks():
    reg, Box = make_registry()
    assert isinstance(reg.build({"name": "box", "width": 1, "root": None}, "data"), Box)


def test_duplicate_name_is_an_error_unless_override():
    reg, Box = make_registry()

    class Other:
        pass

    with pytest.raises(GankitError, match="registered twice"):
        reg.register("box")(Other)
    reg.register("box", override=True)(Other)
    assert reg.get("box") is Other


def test_builtins_are_registered_on_first_use():
    assert "dcgan_mnist" in GENERATORS.names()
    assert {"non_saturating", "minimax", "hinge", "wasserstein", "least_squares"} <= set(LOSSES.names())
