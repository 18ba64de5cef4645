import ast
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import gankit
from gankit.config import registry
from gankit.config.registry import AUGMENT_POLICIES, GENERATORS, LOSSES, OPTIMIZERS, SCHEDULES, Registry
from gankit.errors import GankitError


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


def test_origin_block_names_the_origin_of_what_is_registered_inside_it():
    reg = Registry("widget")
    with registry.origin("file /x/my_widgets.py"):
        reg.register("a")(lambda: None)
        with registry.origin("plugin gk-w 1.0"):
            reg.register("b")(lambda: None)
    reg.register("c")(make_registry)  # outside any block: the file of the module that defines it
    origins = [e.origin for e in reg]
    assert origins[:2] == ["file /x/my_widgets.py", "plugin gk-w 1.0"]
    assert origins[2].startswith("file ") and origins[2].endswith("test_registry.py")


def test_on_first_read_runs_a_function_once_and_at_once_after_the_first_read(monkeypatch):
    calls = []
    monkeypatch.setattr(registry, "_first_read", [])
    monkeypatch.setattr(registry, "_populated", False)
    registry.on_first_read(lambda: calls.append("early"))
    assert calls == []
    Registry("widget").names()
    Registry("widget").names()
    assert calls == ["early"]
    registry.on_first_read(lambda: calls.append("late"))
    assert calls == ["early", "late"]


def _gankit_imports(module) -> set:
    tree = ast.parse(Path(module.__file__).read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return {m for m in mods if m and m.startswith("gankit")}


def test_the_registry_module_imports_nothing_of_gankit_but_the_error_type_and_a_leaf():
    from gankit.config import arguments

    assert _gankit_imports(registry) == {"gankit.errors", "gankit.config.arguments"}
    assert _gankit_imports(arguments) == {"gankit.errors"}


def test_new_registries_are_public_and_listed():
    for name, reg in (("optimizers", OPTIMIZERS), ("schedules", SCHEDULES), ("augment_policies", AUGMENT_POLICIES)):
        assert registry.ALL[name] is reg and getattr(gankit, name.upper()) is reg
    assert {"color", "translation", "cutout"} <= set(AUGMENT_POLICIES.names())


def test_import_gankit_reads_no_registry_and_imports_no_component_module():
    code = ("import sys, gankit; from gankit.config import registry; "
            "print(registry._populated, any(m.startswith(('gankit.models', 'gankit.losses', 'gankit.training')) "
            "for m in sys.modules), 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False", "False"]


def test_argument_types_are_checked_against_the_annotations():
    reg, _ = make_registry()
    problems = reg.check({"name": "box", "width": "3", "height": True, "img_shape": "x"}, "thing")
    assert problems == ["thing.width: widget 'box' expects a whole number, got '3'.",
                        "thing.height: widget 'box' expects a whole number, got True.",
                        "thing.img_shape: widget 'box' expects a list, got 'x'."]
    assert reg.check({"name": "box", "width": 3, "img_shape": [1, 2, 2]}, "thing") == []


def test_a_value_the_component_rejects_names_the_key_and_its_message_not_a_torch_traceback():
    with pytest.raises(GankitError) as e:
        GENERATORS.build({"name": "mlp", "z_dim": 8, "hidden": [32, -5]}, "generator", {"img_shape": (1, 8, 8)})
    msg = str(e.value)
    assert msg.startswith("generator.hidden: generator 'mlp' rejected its arguments (z_dim=8, hidden=[32, -5]; "
                          "from the run: img_shape=(1, 8, 8)): RuntimeError: Trying to create tensor with negative")
    assert msg.endswith("Fix generator.hidden in the recipe.") and "\n" not in msg


def test_an_argument_inherited_from_a_base_recipe_gets_null_as_the_fix():
    reg, _ = make_registry()
    problems = reg.check({"name": "box", "width": 1, "split": "train"}, "data", inherited={"split": "/r/base.yaml"})
    assert problems[0].startswith("data.split: inherited from the base recipe /r/base.yaml, but widget 'box' has no "
                                  "argument 'split'. Drop it here with `split: null` under data:")
