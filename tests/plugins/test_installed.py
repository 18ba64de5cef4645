"""Installed plugin packages: found by entry point, loaded lazily, failures contained, clashes named."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import gankit
from gankit import DATASETS, DISCRIMINATORS, GENERATORS, LOSSES
from gankit.config import plugins
from gankit.config import registry
from gankit.errors import GankitError
from gankit.config.listing import render, rows

from gk_plugin_helpers import EXAMPLE, EXAMPLE_META, ROOT, example_site, write_dist

RECIPE = EXAMPLE / "recipe.yaml"
VERSION = EXAMPLE_META["version"]
ORIGIN = f"plugin gankit-example-plugin {VERSION}"


def _install_example(fresh_plugins, tmp_path):
    fresh_plugins.add(example_site(tmp_path))
    fresh_plugins.add(EXAMPLE / "src")


def _load():
    """What the first registry read does: built-ins (already there), then installed plugins."""
    plugins.load_installed()


def test_example_package_registers_every_kind_with_package_and_version(fresh_plugins, tmp_path):
    _install_example(fresh_plugins, tmp_path)
    _load()
    for reg, name in ((GENERATORS, "example_mlp"), (DISCRIMINATORS, "example_mlp"),
                      (LOSSES, "example_smoothed"), (DATASETS, "example_rings")):
        assert reg.entry(name).origin == ORIGIN
    listed = {e["name"]: e for e in rows("datasets")["datasets"]}
    ds = listed["example_rings"]
    assert (ds["source"], ds["package"], ds["version"]) == ("plugin", "gankit-example-plugin", VERSION)
    assert ds["doc"].startswith("Grey rings")
    assert [a["name"] for a in ds["args"]] == ["size", "image_size", "seed"]
    text = render("text", "generators")
    assert f"example_mlp  [{ORIGIN}]" in text
    assert "installed plugin packages:" in text and "loaded" in text
    assert rows("generators", builtin_only=True)["generators"] and all(
        e["origin"] == "built-in" for e in rows("generators", builtin_only=True)["generators"])


@pytest.mark.slow
def test_example_recipe_trains_two_steps(fresh_plugins, tmp_path):
    _install_example(fresh_plugins, tmp_path)
    cfg = gankit.load_recipe(RECIPE, ["trainer.max_steps=2", "trainer.log_every=1", "trainer.batch_size=16",
                                      "data.size=64"])
    summary = gankit.train(cfg, out=tmp_path / "run")
    run = Path(summary["run_dir"])
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2]
    assert (run / "samples" / "step-0000002.png").is_file()


def test_without_the_package_the_recipe_names_the_unknown_components(fresh_plugins, tmp_path):
    cfg = gankit.load_recipe(RECIPE, ["trainer.max_steps=2"])
    with pytest.raises(GankitError) as e:
        gankit.train(cfg, out=tmp_path / "run")
    msg = str(e.value)
    assert "generator.name: unknown generator 'example_mlp'" in msg
    assert "loss.name: unknown loss 'example_smoothed'" in msg
    assert "data.name: unknown dataset 'example_rings'" in msg
    assert "installed plugin package" in msg
    assert not (tmp_path / "run").exists()


def test_a_misspelled_plugin_component_gets_a_suggestion(fresh_plugins, tmp_path):
    _install_example(fresh_plugins, tmp_path)
    with pytest.raises(GankitError, match="unknown loss 'example_smoothd'. Did you mean 'example_smoothed'"):
        LOSSES.entry("example_smoothd")


@pytest.mark.slow
def test_broken_plugin_warns_by_package_and_builtin_recipe_still_trains(fresh_plugins, tmp_path, tiny_recipe):
    site = write_dist(tmp_path / "site", "gk-broken", "1.0.3", {"broken": "gk_fake_broken"},
                      {"gk_fake_broken": "raise RuntimeError('missing CUDA extension')\n"})
    fresh_plugins.add(site)
    with pytest.warns(RuntimeWarning) as caught:
        _load()
    msg = str(caught[0].message)
    assert "'gk-broken' 1.0.3" in msg and "RuntimeError: missing CUDA extension" in msg
    assert "pip uninstall gk-broken" in msg
    assert [(p.package, p.error) for p in plugins.installed] == [("gk-broken", "RuntimeError: missing CUDA extension")]
    assert "FAILED: RuntimeError: missing CUDA extension" in render("text", "losses")
    cfg = gankit.load_recipe(tiny_recipe, ["trainer.max_steps=1", "trainer.batch_size=8", "data.size=16"])
    summary = gankit.train(cfg, out=tmp_path / "run")
    assert summary["step"] == 1


def test_entry_point_may_name_a_register_function(fresh_plugins, tmp_path):
    site = write_dist(tmp_path / "site", "gk-func", "0.0.1", {"func": "gk_fake_func:register"}, {"gk_fake_func": """
        from gankit import LOSSES
        from gankit.losses.adversarial import hinge
        def register():
            LOSSES.register("gk_func_hinge")(lambda: hinge())
        """})
    fresh_plugins.add(site)
    _load()
    assert LOSSES.entry("gk_func_hinge").origin == "plugin gk-func 0.0.1"


def test_clash_with_a_builtin_names_both_origins(fresh_plugins, tmp_path):
    site = write_dist(tmp_path / "site", "gk-clash", "2.0", {"clash": "gk_fake_clash"}, {"gk_fake_clash": """
        from gankit import LOSSES
        @LOSSES.register("hinge")
        def my_hinge():
            '''Not the built-in hinge.'''
        """})
    fresh_plugins.add(site)
    with pytest.raises(GankitError) as e:
        _load()
    msg = str(e.value)
    assert "loss 'hinge' is registered twice: by built-in" in msg
    assert "by plugin gk-clash 2.0" in msg and "override=True" in msg


def test_clash_between_two_packages_names_both_and_override_replaces(fresh_plugins, tmp_path):
    src = """
        from gankit import LOSSES
        @LOSSES.register("gk_shared", override={override})
        def shared():
            '''{who}'''
        """
    write_dist(tmp_path / "a", "gk-a", "1.0", {"a": "gk_fake_a"}, {"gk_fake_a": src.format(override=False, who="a")})
    write_dist(tmp_path / "b", "gk-b", "1.0", {"b": "gk_fake_b"}, {"gk_fake_b": src.format(override=False, who="b")})
    fresh_plugins.add(tmp_path / "a")
    fresh_plugins.add(tmp_path / "b")
    with pytest.raises(GankitError) as e:
        _load()
    assert "plugin gk-a 1.0" in str(e.value) and "plugin gk-b 1.0" in str(e.value)


def test_override_true_replaces_on_purpose(fresh_plugins, tmp_path):
    site = write_dist(tmp_path / "site", "gk-over", "1.1", {"over": "gk_fake_over"}, {"gk_fake_over": """
        from gankit import LOSSES
        @LOSSES.register("hinge", override=True)
        def better_hinge():
            '''A replacement hinge.'''
        """})
    fresh_plugins.add(site)
    _load()
    entry = LOSSES.entry("hinge")
    assert entry.origin == "plugin gk-over 1.1" and entry.doc == "A replacement hinge."


def _env_with(*paths) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in paths] + [env.get("PYTHONPATH", "")])
    return env


@pytest.mark.slow
def test_import_gankit_does_not_import_plugins_first_registry_use_does(tmp_path):
    site = example_site(tmp_path)
    code = ("import sys, gankit; assert 'gankit_example_plugin' not in sys.modules, 'imported too early'; "
            "print('example_mlp' in gankit.GENERATORS.names()); print('gankit_example_plugin' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=_env_with(site, EXAMPLE / "src"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"]


@pytest.mark.slow
def test_cli_list_shows_the_package_components_with_version(tmp_path):
    site = example_site(tmp_path)
    r = subprocess.run([sys.executable, "-m", "gankit", "list", "--json"], capture_output=True, text=True,
                       timeout=120, env=_env_with(site, EXAMPLE / "src"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    gens = {e["name"]: e for e in data["registries"]["generators"]}
    assert gens["example_mlp"]["origin"] == ORIGIN
    assert {"package": "gankit-example-plugin", "version": VERSION, "loaded": True}.items() <= \
        data["installed_plugins"][0].items()


@pytest.mark.slow
def test_real_pip_install_of_the_example_package(tmp_path):
    """pip builds and installs the package (into a private target folder), then the CLI uses it."""
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                        "--quiet", "--target", str(target), str(EXAMPLE)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"pip could not build the example package here: {r.stderr[-500:]}")
    env = _env_with(target)
    r = subprocess.run([sys.executable, "-m", "gankit", "list", "generators"], capture_output=True, text=True,
                       timeout=120, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"example_mlp  [{ORIGIN}]" in r.stdout
    r = subprocess.run([sys.executable, "-m", "gankit", "train", str(RECIPE), "trainer.max_steps=2",
                        "trainer.batch_size=16", "data.size=64", "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run" / "metrics.jsonl").read_text().count('"step"') >= 1
