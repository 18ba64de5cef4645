"""TorchScript and ONNX files of every built-in generator run (torch.jit.load, onnxruntime) and match
PyTorch within 1e-4 in fp32, at a batch size other than the one traced."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.config.registry import GENERATORS
from gankit.errors import GankitError
from gankit.models.base import is_conditional
from gankit.runs import portable
from gankit.runs.signature import CHECK_N, FIXED_BATCH, example_inputs

CTX = {"img_shape": (1, 28, 28), "num_classes": 10}
# Small widths keep the exports quick; a family not listed is built with its defaults.
SMALL = {"dcgan": {"ngf": 8}, "resnet": {"ch": 16}, "mlp": {"hidden": [32]}, "conditional_bn": {"ngf": 8},
         "conditional": {"body": "mlp", "body_args": {"hidden": [32]}}, "r3gan": {"widths": 16, "cardinality": 4},
         "stylegan2": {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 64, "channel_max": 16,
                       "fused_modconv": False}}
SHAPE = {"stylegan2": (1, 16, 16)}  # powers of two only
BUILT_IN = [e.name for e in GENERATORS if e.origin == "built-in"]


@pytest.fixture(scope="module", autouse=True)
def _one_onnx_registry():
    """torch.onnx builds its table of ONNX functions on every export (seconds each); build it once here."""
    try:
        from torch.onnx._internal.exporter import _registration
    except ImportError:  # another torch: every export builds its own
        yield
        return
    original, cache = _registration.ONNXRegistry.from_torchlib, {}

    def cached(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = original(*args, **kwargs)
        return cache[key]

    _registration.ONNXRegistry.from_torchlib = staticmethod(cached)
    yield
    _registration.ONNXRegistry.from_torchlib = original


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    ctx = {**CTX, "img_shape": SHAPE.get(name, CTX["img_shape"])}
    return GENERATORS.build({"name": name, **SMALL.get(name, {})}, "generator", ctx).eval()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_generator_exports_and_matches(name, fmt, tmp_path):
    G = build(name)
    path = tmp_path / f"g{portable.SUFFIX[fmt]}"
    batch = portable.export_file(G, fmt, path, {"z_dim": G.z_dim})
    assert batch is None  # any batch size
    diff = portable.verify(G, path, fmt)
    print(f"{name} {fmt}: max abs difference {diff:.3g}")  # shown with -s; the docs quote these
    assert diff < 1e-4
    assert portable.read_file_config(path, fmt) == {"z_dim": G.z_dim, "batch": None}
    if is_conditional(G):  # the labels reach the file
        z, y = example_inputs(G, 4)
        assert not torch.allclose(portable.run_file(path, fmt, (z, y)), portable.run_file(path, fmt, (z, (y + 1) % 10)))


class BatchGrouped(nn.Module):
    """A generator whose graph depends on the batch size, as StyleGAN2's fused modulated convolution:
    one grouped convolution with a group per sample."""

    z_dim = 4

    def __init__(self):
        super().__init__()
        self.style = nn.Linear(4, 2)
        self.weight = nn.Parameter(torch.randn(1, 2, 3, 3))

    def forward(self, z, y=None):
        n = z.shape[0]
        w = (self.weight * self.style(z)[:, None, :, None, None]).reshape(n, 2, 3, 3)
        x = z[:, :2, None, None].expand(n, 2, 4, 4).reshape(1, n * 2, 4, 4)
        return F.conv2d(x, w, padding=1, groups=n).reshape(n, 1, 4, 4)


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_a_batch_tied_graph_gets_a_fixed_batch_and_still_answers_any_count(fmt, tmp_path):
    torch.manual_seed(0)
    G = BatchGrouped().eval()
    path = tmp_path / f"g{portable.SUFFIX[fmt]}"
    assert portable.export_file(G, fmt, path, {}) == FIXED_BATCH
    assert portable.read_file_config(path, fmt)["batch"] == FIXED_BATCH
    assert portable.verify(G, path, fmt, n=CHECK_N) < 1e-5  # fed FIXED_BATCH rows at a time


def test_a_generator_that_cannot_be_exported_is_named(tmp_path):
    class Broken(BatchGrouped):
        def forward(self, z, y=None):
            raise RuntimeError("no graph here")

    with pytest.raises(GankitError, match="generator Broken cannot be traced .*no graph here"):
        portable.export_file(Broken(), "torchscript", tmp_path / "g.pt")
    with pytest.raises(GankitError, match="generator Broken cannot be exported to ONNX"):
        portable.export_file(Broken(), "onnx", tmp_path / "g.onnx")
