"""Plugins: a single file named by a recipe (plugins/my_gan.py), and installed packages found by
entry point, loaded lazily, failures contained, clashes named."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gankit
from gankit import DATASETS, DISCRIMINATORS, GENERATORS, LOSSES
from gankit.config import plugins, recipe, validate
from gankit.config.registry import OPTIMIZERS
from gankit.config.listing import render, rows
from gankit.errors import GankitError
from gankit.training.optim import build_optimizer
from gankit.training.schedules import build_schedule
from gankit.training.parts import build_parts
from gankit.training.run import train
from gankit.training.trainer import Trainer

from gk_plugin_helpers import EXAMPLE, EXAMPLE_META, ROOT, example_site, write_dist

RECIPE = ROOT / "plugins" / "my_gan_recipe.yaml"
EXAMPLE_RECIPE = EXAMPLE / "recipe.yaml"
VERSION = EXAMPLE_META["version"]
ORIGIN = f"plugin gankit-example-plugin {VERSION}"

def test_recipe_loads_the_file_relative_to_itself(fresh_plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the recipe's folder
    cfg = gankit.load_recipe(RECIPE, ["data.size=32"])
    valid = validate.validated(cfg, RECIPE.parent)  # imports the plugin file, found next to the recipe
    entry = GENERATORS.entry("my_mlp")
    assert entry.origin == f"file {(ROOT / 'plugins' / 'my_gan.py').resolve()}"
    assert LOSSES.entry("my_softplus").doc.startswith("Non-saturating loss written with softplus")
    parts = build_parts(valid)
    assert parts.G.z_dim == 32 and parts.G.img_shape == (1, 28, 28)
    out = parts.G(torch.randn(3, 32))
    assert out.shape == (3, 1, 28, 28) and out.abs().max() <= 1


def test_a_missing_plugin_file_says_where_it_looked(fresh_plugins, tmp_path):
    with pytest.raises(GankitError, match=r"plugins: plugin file './nope.py' not found \(looked at: .*nope.py"):
        plugins.load(["./nope.py"], base_dir=tmp_path)


def test_file_plugin_clashing_with_a_builtin_names_the_file(fresh_plugins, tmp_path):
    f = tmp_path / "clash.py"
    f.write_text("from gankit import GENERATORS\n@GENERATORS.register('dcgan_mnist')\nclass G:\n    '''mine'''\n")
    with pytest.raises(GankitError) as e:
        plugins.load([str(f)])
    assert "generator 'dcgan_mnist' is registered twice: by built-in" in str(e.value)
    assert f"by file {f.resolve()}" in str(e.value)


@pytest.mark.slow
def test_my_gan_recipe_trains_two_steps(fresh_plugins, tmp_path):
    cfg = gankit.load_recipe(RECIPE, ["trainer.max_steps=2", "trainer.log_every=1", "trainer.batch_size=16",
                                      "data.size=64"])
    summary = train(cfg, tmp_path / "run", recipe_dir=RECIPE.parent, name="my_gan")
    rows = [json.loads(line) for line in (Path(summary["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]


@pytest.mark.slow
def test_the_api_finds_plugin_files_next_to_the_recipe_it_loaded(fresh_plugins, tmp_path, monkeypatch):
    """`gankit.train(gankit.load_recipe(path))` reads `plugins: [./my_gan.py]` as `gankit train path` does."""
    monkeypatch.chdir(tmp_path)  # not the recipe's folder, which the recipe was named relative to
    cfg = gankit.load_recipe(os.path.relpath(RECIPE, tmp_path), ["trainer.max_steps=1", "trainer.batch_size=16",
                                                                 "data.size=32"])
    assert cfg.plugins == ["./my_gan.py"]  # the recipe as written: its folder is remembered beside it
    summary = gankit.train(cfg, out="run")
    stored = recipe.load(Path(summary["run_dir"]) / "recipe.yaml")
    assert stored.plugins == [str((ROOT / "plugins" / "my_gan.py").resolve())] and stored.generator.name == "my_mlp"
    assert recipe.fingerprint(cfg) == recipe.fingerprint(gankit.load_recipe(RECIPE, ["trainer.max_steps=1",
                                                                                      "trainer.batch_size=16",
                                                                                      "data.size=32"]))


def test_an_explicit_recipe_dir_wins_over_the_remembered_folder(fresh_plugins, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    (other / "my_gan.py").write_text((ROOT / "plugins" / "my_gan.py").read_text())
    monkeypatch.chdir(tmp_path)
    cfg = gankit.load_recipe(RECIPE)  # remembers plugins/ as its folder, which has a my_gan.py too
    assert validate.validated(cfg, other).cfg.plugins == [str((other / "my_gan.py").resolve())]
    assert GENERATORS.entry("my_mlp").origin == f"file {(other / 'my_gan.py').resolve()}"



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
    cfg = gankit.load_recipe(EXAMPLE_RECIPE, ["trainer.max_steps=2", "trainer.log_every=1", "trainer.batch_size=16",
                                      "data.size=64"])
    summary = gankit.train(cfg, out=tmp_path / "run")
    run = Path(summary["run_dir"])
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2]
    assert (run / "samples" / "step-0000002.png").is_file()


def test_without_the_package_the_recipe_names_the_unknown_components(fresh_plugins, tmp_path):
    cfg = gankit.load_recipe(EXAMPLE_RECIPE, ["trainer.max_steps=2"])
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
    r = subprocess.run([sys.executable, "-m", "gankit", "train", str(EXAMPLE_RECIPE), "trainer.max_steps=2",
                        "trainer.batch_size=16", "data.size=64", "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run" / "metrics.jsonl").read_text().count('"step"') >= 1


# -- an optimizer and a schedule shape from a plugin file ------------------------------

PLUGIN = '''
import torch
from gankit import OPTIMIZERS, SCHEDULES

@OPTIMIZERS.register("my_opt")
def my_opt(params, lr: float, weight_decay: float = 0.0, momentum: float = 0.0):
    """SGD under another name."""
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=momentum)

@SCHEDULES.register("halves")
def halves(start: float, end: float):
    """start for the first half of the schedule, end for the second."""
    return lambda t: start if t < 0.5 else end
'''


@pytest.fixture
def plugin_recipe(tmp_path, tiny_recipe, fresh_plugins):
    (tmp_path / "my_optim.py").write_text(PLUGIN)
    r = tmp_path / "r.yaml"
    r.write_text(f"base: {tiny_recipe}\nplugins: [./my_optim.py]\n")
    return r


def test_a_plugin_file_adds_an_optimizer_and_a_schedule(plugin_recipe):
    cfg = validate.load(plugin_recipe, ["optim.d.name=my_opt", "optim.d.args={momentum: 0.9}",
                                        "schedules={optim.d.lr: {name: halves, end: 0.05}}", "optim.d.lr=0.1"]).cfg
    assert OPTIMIZERS.entry("my_opt").origin.startswith("file ")
    model = torch.nn.Linear(2, 1)
    opt = build_optimizer(model, cfg.optim.d, torch.device("cpu"))
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
    sched = build_schedule("optim.d.lr", cfg.schedules["optim.d.lr"], cfg.optim.d.lr, 4, 8)
    assert [sched.at(k) for k in range(4)] == pytest.approx([0.1, 0.1, 0.05, 0.05])


@pytest.mark.slow
def test_the_trainer_uses_a_plugin_optimizer(plugin_recipe, tmp_path):
    cfg = validate.load(plugin_recipe, ["optim.d.name=my_opt", "trainer.max_steps=1", "trainer.batch_size=8",
                                        "data.size=16"])
    tr = Trainer(cfg, tmp_path / "run", recipe_dir=plugin_recipe.parent)
    assert type(tr.d_opt.optimizer).__name__ == "SGD"


def test_a_plugin_schedule_is_unknown_without_its_plugin(tiny_recipe, fresh_plugins):
    problems = validate.problems(recipe.load(tiny_recipe, ["schedules={optim.g.lr: {name: halves}}"]))
    assert any(p.startswith("schedules[optim.g.lr].name: unknown schedule 'halves'") for p in problems), problems
    assert plugins.installed == []
