"""Plugin components in exports: recorded with their package (and version), module or file; loading says
what to install."""
import hashlib
import json
import warnings

import pytest
import torch
from torch import nn

from gankit.config import plugins, registry
from gankit.config.registry import GENERATORS
from gankit.errors import GankitError
from gankit.runs import provenance
from gankit.runs.export import write_model_folder
from gankit.runs.inference import load_generator, sample
from gankit.runs.model_folder import CONFIG_FILE, FORMAT, FORMAT_VERSION

PLUGIN = '''
import torch
from torch import nn
from gankit import GENERATORS


@GENERATORS.register("{name}")
class Tiny(nn.Module):
    """A 2×2 generator from a single-file plugin."""

    def __init__(self, img_shape: tuple = (1, 2, 2), z_dim: int = 3):
        super().__init__()
        self.z_dim, self.img_shape, self.lin = z_dim, tuple(img_shape), nn.Linear(z_dim, 4)

    def forward(self, z, y=None):
        return self.lin(z).tanh().view(-1, 1, 2, 2)
'''


class Toy(nn.Module):
    """A generator registered under a made-up origin."""

    def __init__(self, img_shape: tuple = (1, 2, 2), z_dim: int = 3):
        super().__init__()
        self.z_dim, self.lin = z_dim, nn.Linear(z_dim, 4)

    def forward(self, z, y=None):
        return self.lin(z).view(-1, 1, 2, 2)


@pytest.fixture
def own_registry(monkeypatch):
    """GENERATORS as now, with whatever a test registers dropped afterwards."""
    registry.populate()
    monkeypatch.setattr(GENERATORS, "_entries", dict(GENERATORS._entries))
    monkeypatch.setattr(plugins, "_loaded_explicit", dict(plugins._loaded_explicit))


def register(name: str, origin: str):
    with registry.origin(origin):
        GENERATORS.register(name)(type(name, (Toy,), {}))


def config_for(node: dict, records: list) -> dict:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "generator": node, "img_shape": [1, 2, 2],
            "num_classes": 0, "z_dim": 3, "plugins": records, "weights": "raw"}


def test_built_ins_need_nothing_and_a_wrapper_records_its_body(own_registry):
    assert provenance.record({"name": "conditional", "body": "mlp"}) == []
    register("gk_test_body", "plugin gk-test-gens 1.2.3")
    recs = provenance.record({"name": "conditional", "body": "gk_test_body"})
    assert [(r["component"], r["package"], r["version"]) for r in recs] == [("gk_test_body", "gk-test-gens", "1.2.3")]


def test_a_missing_package_is_named_with_its_version(own_registry):
    register("gk_test_pkg", "plugin gk-test-gens 1.2.3")
    rec = provenance.record({"name": "gk_test_pkg"})
    del GENERATORS._entries["gk_test_pkg"]  # as on a machine without the package
    with pytest.raises(GankitError, match=r"package gk-test-gens 1.2.3.*pip install gk-test-gens==1.2.3"):
        provenance.require(rec, "model")


def test_a_module_plugin_is_recorded_and_another_version_warns(own_registry):
    register("gk_test_mod", "module gk_test_missing_module")
    rec = provenance.record({"name": "gk_test_mod"})
    assert rec[0]["module"] == "gk_test_missing_module" and "package" not in rec[0]
    del GENERATORS._entries["gk_test_mod"]
    with pytest.raises(GankitError, match="plugin module 'gk_test_missing_module', which cannot be imported"):
        provenance.require(rec, "model")
    register("gk_test_old", "plugin torch 0.0.1")
    with pytest.warns(UserWarning, match=r"exported with torch 0.0.1; .* is installed"):
        provenance.require(provenance.record({"name": "gk_test_old"}), "model")


def test_a_file_plugin_export_names_the_file_and_loads_with_it(own_registry, tmp_path):
    path = tmp_path / "gk_tiny_plugin.py"
    path.write_text(PLUGIN.format(name="gk_tiny_file_gen"))
    plugins.load([str(path)])
    node = {"name": "gk_tiny_file_gen"}
    recs = provenance.record(node)
    assert recs == [{"component": "gk_tiny_file_gen", "origin": f"file {path.resolve()}", "file": path.name,
                     "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]
    torch.manual_seed(0)
    G = GENERATORS.build(node, "generator", {"img_shape": (1, 2, 2)}).eval()
    out = write_model_folder(G, config_for(node, recs), tmp_path / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same file: no warning
        assert torch.equal(sample(load_generator(out, plugins=[str(path)]), 3), sample(G, 3))
    config = json.loads((out / CONFIG_FILE).read_text())
    config["plugins"][0].update(component="gk_never_loaded", file="gk_elsewhere.py")
    config["generator"]["name"] = "gk_never_loaded"
    (out / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(GankitError, match=r"plugin file gk_elsewhere.py.*plugins=\['path/to/gk_elsewhere.py'\]"):
        load_generator(out)
