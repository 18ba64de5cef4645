"""Do a safetensors file's tensors fit a model? ``check_weights`` says, before anything is loaded.

The file's names, shapes and dtypes are read from its header (``safe_open``: nothing is unpickled,
no tensor is read) and compared with the model's ``state_dict``: each missing, extra or mis-shaped
tensor is named with the shape expected and the shape found, and a tensor of another kind (an
int8 tensor where a float one belongs) is refused: loading would cast it silently. Resuming a
checkpoint, loading a model folder and ``load_generator`` all check through here. A model built on the
meta device (shapes, no memory) is checked with ``present_only``: a file that does not fit is refused
before the real model, however large its arguments say it is, takes any memory.
"""
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import safe_open

from gankit.errors import GankitError, first_line

SHOWN = 8  # problems listed in full; the rest are counted

def file_tensors(path: str | Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """{name: (shape, safetensors dtype such as "F32" or "I8")} of a safetensors file, from its header."""
    with safe_open(str(path), "pt") as f:
        return {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}


def _kind_of_file_dtype(dtype: str) -> str:
    d = dtype.upper()  # safetensors' names: F32, BF16, F8_E4M3, I64, U8, BOOL, C64, ...
    if d == "BOOL":
        return "bool"
    for prefixes, kind in ((("F", "BF"), "float"), (("I", "U"), "integer"), (("C",), "complex")):
        if d.startswith(prefixes):
            return kind
    return d


def _kind(t: torch.Tensor) -> str:
    if t.dtype == torch.bool:
        return "bool"
    if t.is_complex():
        return "complex"
    return "float" if t.is_floating_point() else "integer"


def _aliases(expected: Mapping[str, torch.Tensor]) -> dict[str, set[str]]:
    """For each name, the other names sharing its storage (tied weights: the file keeps one of them)."""
    by_storage: dict[tuple, set[str]] = {}
    for k, t in expected.items():
        if t.device.type == "meta":
            continue
        by_storage.setdefault((t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape)), set()).add(k)
    return {k: names - {k} for names in by_storage.values() for k in names}


def weight_problems(expected: Mapping[str, torch.Tensor], found: Mapping[str, tuple[tuple[int, ...], str]],
                    present_only: bool = False) -> list[str]:
    """Each way the file's tensors ``found`` (``file_tensors``) do not fit ``expected`` (a state_dict);
    ``present_only``: a tensor the file lacks is not one (a meta model cannot tell tied weights)."""
    aliases = _aliases(expected)
    problems = []
    for k, t in expected.items():
        want = tuple(t.shape)
        if k not in found:
            if not present_only and not aliases.get(k, set()) & found.keys():
                problems.append(f"missing tensor '{k}' (expected shape {list(want)}, {str(t.dtype).removeprefix('torch.')})")
            continue
        shape, dtype = found[k]
        if shape != want:
            problems.append(f"tensor '{k}' has shape {list(shape)}, expected {list(want)}")
        elif _kind_of_file_dtype(dtype) != _kind(t):
            problems.append(f"tensor '{k}' is {dtype} ({_kind_of_file_dtype(dtype)}), expected "
                            f"{str(t.dtype).removeprefix('torch.')} ({_kind(t)})")
    for k in found.keys() - expected.keys():
        problems.append(f"extra tensor '{k}' (shape {list(found[k][0])}, {found[k][1]}) that the model does not have")
    return problems


def check_weights(expected: Mapping[str, torch.Tensor], path: str | Path, where: str, fix: str,
                  present_only: bool = False) -> None:
    """Refuse the safetensors file ``path`` unless its tensors fit ``expected`` (a model's state_dict)
    by name, shape and kind: one error naming ``where``, every problem (up to ``SHOWN``) and ``fix``."""
    try:
        found = file_tensors(path)
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error type, and OSError
        raise GankitError(f"{where}: cannot read the tensors of {Path(path).name} ({first_line(e)}). The file is "
                          f"damaged or not a safetensors file. {fix}") from None
    problems = weight_problems(expected, found, present_only)
    if problems:
        more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise GankitError(f"{where}: {Path(path).name} does not fit the model it is loaded into: "
                          f"{'; '.join(problems[:SHOWN])}{more}. Nothing was loaded. {fix}")


def check_before_building(build, path: str | Path, where: str, fix: str) -> None:
    """``check_weights`` of the model ``build()`` makes, built on the meta device (shapes, no memory), so
    arguments that ask for a giant model are refused by the file's shapes before anything is allocated."""
    with torch.device("meta"):
        shapes = build().state_dict()
    check_weights(shapes, path, where, fix, present_only=True)
