"""The call an exported generator file answers: ``images = f(z)``, or ``f(z, labels)`` when conditional.

``z`` is (N, z_dim) float32, ``labels`` (N,) int64, ``images`` (N, C, H, W). N is free, unless a
generator's graph ties itself to the batch size (StyleGAN2's fused modulated convolution is one
grouped convolution with N groups): then the file is written for ``FIXED_BATCH`` latents per call,
its config says so (``"batch"``), and ``run_in_chunks`` feeds it that many at a time.
"""
import torch
from torch import nn

from gankit.metrics.draws import draw_labels, latents
from gankit.models.base import is_conditional

TRACE_N, CHECK_N, CHECK_SEED = 2, 8, 0  # traced at one batch size, checked at another: N must stay free
FIXED_BATCH = 1


class Unconditional(nn.Module):
    """``images = G(z)``."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(z, None)


class Conditional(Unconditional):
    """``images = G(z, labels)``."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.G(z, labels)


def wrapped(G: nn.Module) -> nn.Module:
    """``G`` on the CPU, in eval mode, frozen, behind the file's signature."""
    G = G.cpu().eval().requires_grad_(False)
    return (Conditional if is_conditional(G) else Unconditional)(G).eval()


def input_names(G: nn.Module) -> list[str]:
    return ["z", "labels"] if is_conditional(G) else ["z"]


def example_inputs(G: nn.Module, n: int, seed: int = CHECK_SEED) -> tuple[torch.Tensor, ...]:
    """Seeded latents (and labels i % classes for a conditional G), on the CPU."""
    z = latents(n, G.z_dim, seed)
    return (z, draw_labels(G, n)) if is_conditional(G) else (z,)


def run_in_chunks(fn, inputs: tuple[torch.Tensor, ...], batch: int | None) -> torch.Tensor:
    """``fn(*inputs)``, split into calls of ``batch`` rows when the file's batch size is fixed."""
    if not batch:
        return fn(*inputs)
    n = inputs[0].shape[0]
    return torch.cat([fn(*(t[i:i + batch] for t in inputs)) for i in range(0, n, batch)])


@torch.no_grad()
def batch_is_free(module: nn.Module, traced, atol: float = 1e-4) -> bool:
    """Whether a traced module, traced at TRACE_N, also answers TRACE_N + 1 rows like the original."""
    G = module.G
    inputs = example_inputs(G, TRACE_N + 1, seed=CHECK_SEED + 1)
    try:
        out = traced(*inputs)
    except Exception:  # noqa: BLE001 - a graph tied to the traced batch size fails in shape checks
        return False
    return out.shape == (TRACE_N + 1, *out.shape[1:]) and torch.allclose(out, module(*inputs), atol=atol)
