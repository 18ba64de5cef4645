"""A generator as an ONNX file (torch.onnx's dynamo exporter), its config.json in the metadata
property ``gankit_config``; onnxruntime (or any ONNX runtime) runs it.

Needs onnx, onnxruntime and onnxscript (``pip install 'gankit[onnx]'``); the error says so.
"""
import contextlib
import importlib.util
import io
import json
import os
import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from gankit.errors import GankitError, first_line
from gankit.runs.signature import FIXED_BATCH, TRACE_N, example_inputs, input_names, run_in_chunks, wrapped
from gankit.store.files import disk_errors_of, fsync_tree, size_of

CONFIG_KEY = "gankit_config"
PACKAGES = ("onnx", "onnxruntime", "onnxscript")
_ONE_FILE_LIMIT = 1.5e9  # bytes of weights an .onnx file holds itself (protobuf's limit is 2 GB)


def require_onnx() -> None:
    """Refuse ONNX work, naming what to install, when onnx, onnxruntime or onnxscript is missing."""
    missing = [m for m in PACKAGES if importlib.util.find_spec(m) is None]
    if missing:
        raise GankitError(f"--format onnx: needs {', '.join(missing)}, not installed here. Install them with "
                          f"pip install 'gankit[onnx]' (or pip install {' '.join(missing)}).")


def _export(module: nn.Module, n: int, dynamic: bool):
    names = input_names(module.G)
    batch = torch.export.Dim("batch", min=1)
    shapes = tuple({0: batch} for _ in names) if dynamic else None
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its progress
        return torch.onnx.export(module, example_inputs(module.G, n), dynamo=True, input_names=names,
                                 output_names=["images"], dynamic_shapes=shapes)


def export_onnx(G: nn.Module, path: str | Path, config: dict | None = None) -> int | None:
    """Write the file; returns its fixed batch size, or None when N is free."""
    require_onnx()
    module = wrapped(G)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            program, batch = _export(module, TRACE_N, dynamic=True), None
        except Exception:  # noqa: BLE001 - a graph tied to the batch size; try a fixed one
            try:
                program, batch = _export(module, FIXED_BATCH, dynamic=False), FIXED_BATCH
            except Exception as e:  # noqa: BLE001 - the exporter raises many types
                raise GankitError(f"--format onnx: generator {type(G).__name__} cannot be exported to ONNX "
                                  f"({type(e).__name__}: {first_line(e)}). Try --format torchscript.") from None
    program.model.metadata_props[CONFIG_KEY] = json.dumps({**(config or {}), "batch": batch})
    weight_bytes = sum(t.numel() * t.element_size() for t in G.state_dict().values())
    _save(program, Path(path), weight_bytes)
    return batch


def _save(program, path: Path, weight_bytes: int) -> None:
    """Save into a temporary folder beside ``path``, then rename each file into place (the .onnx last),
    so a failure (a full disk: the store's ``DiskFull``) leaves no file under the final names."""
    tmp = path.parent / f".tmp-{path.name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with disk_errors_of(path, lambda: max(weight_bytes, size_of(tmp))):
            tmp.mkdir()
            program.save(str(tmp / path.name), external_data=weight_bytes > _ONE_FILE_LIMIT)
            fsync_tree(tmp)
            for f in sorted(tmp.iterdir(), key=lambda f: f.name == path.name):
                os.replace(f, path.parent / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_onnx_config(path: str | Path) -> dict:
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return json.loads(props.get(CONFIG_KEY, "{}"))


def run_onnx(path: str | Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    fixed = session.get_inputs()[0].shape[0]

    def call(*tensors):
        return torch.from_numpy(session.run(None, {n: t.numpy() for n, t in zip(names, tensors)})[0])

    return run_in_chunks(call, inputs, fixed if isinstance(fixed, int) else None)
