"""A model folder or run directory runs no plugin code the user did not ask for (docs/sharing.md).

Each "evil" plugin writes a marker file when imported: the marker shows whether its code ran."""
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml

from gankit.cli import main
from gankit.config import plugin_trust, plugins, recipe, registry
from gankit.config.registry import GENERATORS
from gankit.errors import GankitError
from gankit.runs.export import write_model_folder
from gankit.runs.inference import load_generator
from gankit.runs.model_folder import CONFIG_FILE
from gankit.store import state as state_file
from gankit.store.files import CHECKPOINTS_DIR, RECIPE_FILE, STATE_FILE

EVIL = '''
from pathlib import Path
Path({marker!r}).write_text("ran")
'''
GEN = EVIL + '''
from torch import nn
from gankit import GENERATORS


@GENERATORS.register("{name}", override=True)
class Tiny(nn.Module):
    def __init__(self, img_shape: tuple = (1, 2, 2), z_dim: int = 3):
        super().__init__()
        self.z_dim, self.lin = z_dim, nn.Linear(z_dim, 4)

    def forward(self, z, y=None):
        return self.lin(z).tanh().view(-1, 1, 2, 2)
'''


@pytest.fixture
def own_registry(monkeypatch):
    """GENERATORS and the loaded plugins as now, with whatever a test adds dropped afterwards."""
    registry.populate()
    monkeypatch.setattr(GENERATORS, "_entries", dict(GENERATORS._entries))
    monkeypatch.setattr(plugins, "_loaded_explicit", dict(plugins._loaded_explicit))


def write_plugin(path: Path, marker: Path, name: str | None = None) -> Path:
    path.write_text((GEN if name else EVIL).format(marker=str(marker), name=name))
    return path


def model_folder(tmp_path: Path, name: str, records: list) -> Path:
    """An export of a tiny generator registered as ``name``, whose config.json names ``records``."""
    with registry.origin("file elsewhere.py"):
        GENERATORS.register(name, override=True)(type(name, (torch.nn.Module,), {
            "__init__": lambda self, img_shape=(1, 2, 2), z_dim=3: (torch.nn.Module.__init__(self),
                                                                    setattr(self, "z_dim", z_dim),
                                                                    setattr(self, "lin", torch.nn.Linear(z_dim, 4)))[0],
            "forward": lambda self, z, y=None: self.lin(z).tanh().view(-1, 1, 2, 2)}))
    G = GENERATORS.build({"name": name}, "generator", {"img_shape": (1, 2, 2)}).eval()
    config = {"format": "gankit-generator", "format_version": 1, "generator": {"name": name}, "img_shape": [1, 2, 2],
              "num_classes": 0, "z_dim": 3, "plugins": records, "weights": "raw"}
    out = write_model_folder(G, config, tmp_path / "evilfolder")
    del GENERATORS._entries[name]  # as on the machine that downloads the folder
    return out


def test_a_folder_naming_a_file_outside_it_runs_nothing_even_when_trusted(own_registry, tmp_path, monkeypatch):
    marker = tmp_path / "ran.txt"
    outside = write_plugin(tmp_path / "evil.py", marker, "gk_trust_out")
    folder = model_folder(tmp_path, "gk_trust_out", [{"component": "gk_trust_out", "module": "evil.py"},
                                                      {"component": "gk_trust_out", "module": str(outside)}])
    monkeypatch.chdir(tmp_path)  # `cd PARENT && gankit sample evilfolder`
    with pytest.raises(GankitError, match=r"(?s)gk_trust_out.*trust_plugins=True.*--trust-plugins"):
        load_generator(folder)
    assert not marker.exists()
    with pytest.raises(GankitError, match=r"(?s)gk_trust_out.*outside"):
        load_generator(folder.resolve(), trust_plugins=True)
    assert not marker.exists()
    assert main(["sample", "evilfolder", "--num", "4", "--out", str(tmp_path / "s.png")]) == 2
    assert not marker.exists() and not (tmp_path / "s.png").exists()


def test_a_folder_naming_a_module_imports_nothing(own_registry, tmp_path, monkeypatch, capsys):
    marker = tmp_path / "ran.txt"
    code = tmp_path / "code"
    code.mkdir()
    write_plugin(code / "gk_trust_evil_mod.py", marker, "gk_trust_mod")
    monkeypatch.syspath_prepend(str(code))  # importable, but no installed distribution provides it
    folder = model_folder(tmp_path, "gk_trust_mod", [{"component": "gk_trust_mod", "module": "gk_trust_evil_mod"}])
    assert main(["sample", str(folder), "--num", "4", "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "gk_trust_evil_mod" in err and "--trust-plugins" in err
    assert not marker.exists()
    with pytest.raises(GankitError, match="gk_trust_evil_mod"):
        load_generator(folder, trust_plugins=True)  # not an installed package's module: still not imported
    assert not marker.exists()
    assert load_generator(folder, plugins=["gk_trust_evil_mod"]).z_dim == 3  # named by the user: loaded
    assert marker.exists()


def test_with_the_opt_in_only_the_folders_own_file_runs(own_registry, tmp_path, monkeypatch):
    own_marker, cwd_marker = tmp_path / "own.txt", tmp_path / "cwd.txt"
    folder = model_folder(tmp_path, "gk_trust_own", [{"component": "gk_trust_own", "file": "gk_trust_own.py"}])
    write_plugin(folder / "gk_trust_own.py", own_marker, "gk_trust_own")
    write_plugin(tmp_path / "gk_trust_own.py", cwd_marker, "gk_trust_own")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GankitError, match=r"(?s)gk_trust_own.py.*trust_plugins=True"):
        load_generator("evilfolder")
    assert not own_marker.exists() and not cwd_marker.exists()
    assert load_generator("evilfolder", trust_plugins=True).z_dim == 3
    assert own_marker.exists() and not cwd_marker.exists()


@pytest.fixture
def foreign_run(run_dir, tmp_path):
    """A copy of the tiny run whose recipe names ``plugins`` (its checkpoints made to agree with it)."""

    def make(specs: list[str]) -> Path:
        run = tmp_path / "run"
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(run_dir, run)
        stored = yaml.safe_load((run / RECIPE_FILE).read_text())
        stored["plugins"] = specs
        (run / RECIPE_FILE).write_text(yaml.safe_dump(stored))
        fingerprint = recipe.fingerprint(recipe.load(run / RECIPE_FILE))
        for ck in (run / CHECKPOINTS_DIR).iterdir():
            if (ck / STATE_FILE).is_file():
                data = json.loads((ck / STATE_FILE).read_text())
                data["recipe_sha256"] = fingerprint
                (ck / STATE_FILE).write_text(json.dumps(data))
                state_file.read(ck)
        return run

    return make


@pytest.mark.slow
def test_a_run_naming_its_own_file_runs_it_only_with_the_opt_in(own_registry, foreign_run, tmp_path, monkeypatch,
                                                                  capsys):
    marker = tmp_path / "ran.txt"
    run = foreign_run(["./gk_trust_run_evil.py"])
    write_plugin(run / "gk_trust_run_evil.py", marker)
    with pytest.raises(GankitError, match=r"(?s)gk_trust_run_evil.py.*trust_plugins=True"):
        load_generator(run)
    for verb in (["sample", str(run), "--num", "2", "--out", str(tmp_path / "s.png")],
                 ["export", str(run), str(tmp_path / "model")], ["resume", str(run)]):
        assert main(verb) == 2, verb
        assert "--trust-plugins" in capsys.readouterr().err
    assert not marker.exists()
    assert main(["sample", str(run), "--num", "2", "--out", str(tmp_path / "s.png"), "--trust-plugins"]) == 0
    assert marker.exists()


@pytest.mark.slow
def test_a_run_never_loads_a_plugin_from_the_working_directory(own_registry, foreign_run, tmp_path, monkeypatch):
    marker = tmp_path / "ran.txt"
    run = foreign_run(["gk_trust_cwd_evil.py"])
    write_plugin(tmp_path / "gk_trust_cwd_evil.py", marker)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GankitError, match=r"gk_trust_cwd_evil.py"):
        load_generator(run, trust_plugins=True)
    assert not marker.exists()


@pytest.mark.slow
def test_a_run_naming_the_absolute_file_its_training_resolved_loads_without_asking(own_registry, foreign_run,
                                                                                     tmp_path):
    marker = tmp_path / "ran.txt"
    (tmp_path / "mine").mkdir()
    mine = write_plugin(tmp_path / "mine" / "gk_trust_mine.py", marker)
    run = foreign_run([str(mine.resolve())])  # what `gankit train` stores for plugins: [./gk_trust_mine.py]
    assert load_generator(run).z_dim == 96
    assert marker.exists()


def test_the_module_rule(tmp_path, monkeypatch):
    import yaml as installed  # PyYAML: a module of an installed distribution

    (tmp_path / "home").mkdir()
    run = plugin_trust.Source(tmp_path / "home", plugin_trust.RUN)
    folder = plugin_trust.Source(tmp_path / "home", plugin_trust.MODEL_FOLDER)
    assert plugin_trust.judge("yaml", run)[1] is None
    assert "--trust-plugins" in plugin_trust.judge("yaml", folder)[1]
    assert plugin_trust.judge("yaml", replace(folder, trust=True))[1] is None
    monkeypatch.chdir(Path(installed.__file__).parents[3])  # a virtual environment inside the working directory
    assert plugin_trust.judge("yaml", run)[1] is None
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "gk_trust_here.py").write_text("")
    monkeypatch.chdir(tmp_path / "code")
    monkeypatch.syspath_prepend(str(tmp_path / "code"))  # as `python -m` puts the working directory first
    assert "--trust-plugins" in plugin_trust.judge("antigravity", run)[1]  # Python's own: would open a browser
    assert "--trust-plugins" in plugin_trust.judge("gk_trust_here", run)[1]
    assert plugin_trust.judge("gk_trust_here", replace(run, trust=True))[1] is None
    assert "working directory" in plugin_trust.judge("gk_trust_here", replace(folder, trust=True))[1]
    inside = plugin_trust.Source(tmp_path / "code", plugin_trust.RUN, trust=True)
    assert "inside the run directory" in plugin_trust.judge("gk_trust_here", inside)[1]


def test_a_hub_download_whose_files_are_links_into_the_cache_loads_its_own_file(own_registry, tmp_path):
    marker = tmp_path / "own.txt"
    folder = model_folder(tmp_path, "gk_trust_link", [{"component": "gk_trust_link", "file": "gk_trust_link.py"}])
    (tmp_path / "blobs").mkdir()
    blob = write_plugin(tmp_path / "blobs" / "3f2a9c", marker, "gk_trust_link")  # named by its hash, no suffix
    (folder / "gk_trust_link.py").symlink_to(blob)
    assert load_generator(folder, trust_plugins=True).z_dim == 3
    assert marker.exists()
