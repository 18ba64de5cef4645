"""Exported generator files for use outside Python training code, and the check of each one.

``export_file(G, "torchscript" | "onnx", path, config)`` writes one (``gankit.runs.torchscript_file``,
``gankit.runs.onnx_file``; the call they answer: ``gankit.runs.signature``). ``verify`` runs the
written file and the PyTorch generator on the same seeded latents and returns the largest absolute
difference of their outputs — the number ``gankit export`` prints.
"""
import zipfile
from pathlib import Path

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.runs.model_folder import FORMAT
from gankit.runs.onnx_file import export_onnx, read_onnx_config, run_onnx
from gankit.runs.signature import CHECK_N, CHECK_SEED, example_inputs, wrapped
from gankit.runs.torchscript_file import CONFIG_EXTRA, export_torchscript, load_torchscript, run_torchscript
from gankit.store.files import MAX_JSON_BYTES, loads_json

FORMATS = ("safetensors", "torchscript", "onnx")
SUFFIX = {"torchscript": ".pt", "onnx": ".onnx"}


def export_file(G: nn.Module, fmt: str, path: str | Path, config: dict | None = None) -> int | None:
    """Write ``G`` as a ``fmt`` file; returns the file's fixed batch size, or None when N is free."""
    if fmt == "torchscript":
        return export_torchscript(G, path, config)
    if fmt == "onnx":
        return export_onnx(G, path, config)
    raise GankitError(f"--format: '{fmt}' has no single-file export; choose torchscript or onnx.")


def run_file(path: str | Path, fmt: str, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The output of an exported file on ``inputs`` (CPU)."""
    if fmt == "torchscript":
        return run_torchscript(path, inputs)
    if fmt == "onnx":
        return run_onnx(path, inputs)
    raise GankitError(f"--format: no runner for '{fmt}'.")


def is_export_file(path: str | Path, fmt: str) -> bool:
    """Whether ``path`` is a ``fmt`` file gankit exported (what ``--overwrite`` may replace), read without
    running or unpickling it: TorchScript's zip member ``extra/config.json``, ONNX's metadata."""
    try:
        if fmt == "torchscript":
            with zipfile.ZipFile(path) as z:
                member = next(i for i in z.infolist() if i.filename.endswith(f"/extra/{CONFIG_EXTRA}"))
                config = loads_json(z.read(member)) if member.file_size <= MAX_JSON_BYTES else None
        else:
            config = read_onnx_config(path)
    except Exception:  # noqa: BLE001 - not a zip, no member, not protobuf, not JSON: not an export
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def read_file_config(path: str | Path, fmt: str) -> dict:
    """The config.json an exported file carries (with ``"batch"``: its fixed batch size or null)."""
    return load_torchscript(path)[1] if fmt == "torchscript" else read_onnx_config(path)


@torch.no_grad()
def verify(G: nn.Module, path: str | Path, fmt: str, n: int = CHECK_N, seed: int = CHECK_SEED) -> float:
    """Largest |file output − PyTorch output| over ``n`` seeded samples."""
    inputs = example_inputs(G, n, seed)
    reference = wrapped(G)(*inputs).float()
    out = run_file(path, fmt, inputs).float()
    if out.shape != reference.shape:
        raise GankitError(f"{path}: the exported file gives images of shape {tuple(out.shape)}, the generator "
                          f"{tuple(reference.shape)}. The export is broken; report it with the generator's name.")
    return float((out - reference).abs().max())
