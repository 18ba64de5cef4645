"""A generator as a TorchScript file: traced, with its config.json inside (extra file ``config.json``).

``torch.jit.load(path)(z[, labels])`` runs it anywhere libtorch runs, Python or C++. The file is
saved into memory first and then written atomically: TorchScript's writer aborts the whole process
when the disk fills, so it never writes to disk itself.
"""
import contextlib
import io
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from gankit.errors import GankitError, first_line
from gankit.runs.signature import FIXED_BATCH, TRACE_N, batch_is_free, example_inputs, run_in_chunks, wrapped
from gankit.store.files import write_bytes_atomic

CONFIG_EXTRA = "config.json"


class _Ctx:
    """What an autograd Function's forward may touch of its ``ctx`` when it runs as plain code."""

    needs_input_grad: tuple = ()

    def save_for_backward(self, *tensors):
        pass

    mark_dirty = mark_non_differentiable = set_materialize_grads = save_for_backward


@contextlib.contextmanager
def inlined_autograd_functions():
    """Inside the block every ``torch.autograd.Function`` runs its forward as plain operations.

    A Function (a custom backward, as R3GAN's resampling and StyleGAN2's FIR filter have, for cheap
    double backward) is Python that TorchScript cannot store. Its forward computes the same numbers
    without it, and an exported file is never differentiated, so tracing sees only that forward."""
    Function = torch.autograd.Function
    original = Function.__dict__["apply"]
    default_setup = getattr(torch.autograd.function._SingleLevelFunction, "setup_context", None)

    def apply(cls, *args, **kwargs):
        if getattr(cls, "setup_context", None) is not default_setup:
            return cls.forward(*args, **kwargs)  # the forward(*args) + setup_context(ctx, ...) style
        return cls.forward(_Ctx(), *args, **kwargs)

    Function.apply = classmethod(apply)
    try:
        yield
    finally:
        Function.apply = original


def _trace(module: nn.Module, n: int):
    return torch.jit.trace(module, example_inputs(module.G, n), check_trace=False)


def export_torchscript(G: nn.Module, path: str | Path, config: dict | None = None) -> int | None:
    """Write the file; returns its fixed batch size, or None when N is free."""
    module = wrapped(G)
    with warnings.catch_warnings(), torch.no_grad(), inlined_autograd_functions():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice and tracer warnings about shapes
        try:
            traced, batch = _trace(module, TRACE_N), None
            if not batch_is_free(module, traced):
                traced, batch = _trace(module, FIXED_BATCH), FIXED_BATCH
            extra = {CONFIG_EXTRA: json.dumps({**(config or {}), "batch": batch})}
            buf = io.BytesIO()
            torch.jit.save(traced, buf, _extra_files=extra)
        except Exception as e:  # noqa: BLE001 - tracing fails in many ways; say which generator and why
            raise GankitError(f"--format torchscript: generator {type(G).__name__} cannot be traced "
                              f"({type(e).__name__}: {first_line(e)}). Try --format onnx.") from None
    write_bytes_atomic(path, buf.getvalue())
    return batch


def load_torchscript(path: str | Path) -> tuple[torch.jit.ScriptModule, dict]:
    """The module and the config.json it carries."""
    extra = {CONFIG_EXTRA: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return module, json.loads(extra[CONFIG_EXTRA] or "{}")


@torch.no_grad()
def run_torchscript(path: str | Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    module, config = load_torchscript(path)
    return run_in_chunks(module, inputs, config.get("batch"))
