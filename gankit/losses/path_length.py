"""Path-length regularisation of G (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN", Sec. 3.2; as StyleGAN2-ADA's ``training/loss.py`` computes it).

For a batch of generated images g(w) (N, C, H, W) and their styles w (N, L, D) (L copies of w, after
style mixing), with y ~ N(0, I) / √(H·W):

    ℓ_n = √( (1/L) Σ_l ‖∂(g(w_n) · y)/∂w_{n,l}‖² )           (the Jacobian-vector norm ‖J_wᵀ y‖)
    a ← a + β·(mean_n ℓ_n − a)                               (β = ``decay``, 0.01; a starts at 0)
    term = weight · mean_n (ℓ_n − a)²                        (a: the updated value, as StyleGAN2-ADA)

on ``1 / batch_shrink`` of the batch. It is a term of G's phase (``network = "G"``); ``interval: 4``
runs it every 4th step, × 4 (lazy regularisation). The moving average a is the part's state: it
is saved in every checkpoint (``state.json`` → ``parts``) and restored on resume; on several
processes the batch mean is averaged over them first, so every process keeps the same a. Under fp16
the Jacobian-vector product is taken at the grad scaler's scale (``grad_scale``) and unscaled in fp32.
"""
import math
from typing import Callable, Optional

import torch

from gankit.config.registry import PENALTIES
from gankit.errors import GankitError
from gankit.losses.penalties import Penalty

Tensor = torch.Tensor


def path_noise(images: Tensor) -> Tensor:
    """y ~ N(0, I) / √(H·W), the shape of the images (from the global RNG, on their device)."""
    return torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])


def path_lengths(images: Tensor, ws: Tensor, noise: Tensor, scale: Optional[Tensor] = None) -> Tensor:
    """ℓ_n = √(mean_l ‖∂(Σ g(w)·y)/∂w_{n,l}‖²) per sample (N,), differentiable (create_graph).

    ``scale`` (fp16's loss scale): differentiate scale·Σ g(w)·y and divide the gradient by it in fp32
    (PyTorch's AMP gradient-penalty recipe, as the D penalties' ``input_grad``)."""
    dt = torch.promote_types(images.dtype, torch.float32)  # fp32 at least, autocast off (as the D penalties)
    with torch.autocast(device_type=images.device.type, enabled=False):
        out = (images.to(dt) * noise.to(dt)).sum()
        (grads,) = torch.autograd.grad(out if scale is None else out * scale, ws, create_graph=True)
        grads = grads.to(dt) if scale is None else grads.to(dt) / scale
        return grads.square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(lengths: Tensor, mean: Tensor, decay: float, batch_mean: Optional[Tensor] = None):
    """(per-sample (ℓ_n − a')², a') with a' = a + decay·(mean ℓ − a).

    ``batch_mean`` replaces mean ℓ in a' (its value only; the gradient still flows through this
    batch's mean): the mean over every process's batch.
    """
    m = lengths.mean()
    if batch_mean is not None:
        m = m + (batch_mean - m).detach()
    target = mean.to(m.dtype).lerp(m, decay)
    return (lengths - target).square(), target.detach()


def _global_mean(value: Tensor) -> Tensor:
    """``value`` (detached) averaged over processes; itself on one process."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return value.detach()
    v = value.detach().clone()
    if torch.distributed.get_backend() == "nccl" and v.device.type != "cuda":
        v = v.to(torch.device("cuda", torch.cuda.current_device()))
    torch.distributed.all_reduce(v)
    return (v / torch.distributed.get_world_size()).to(value.device)


@PENALTIES.register("path_length")
class PathLength(Penalty):
    """Path-length regularisation of G (Karras et al. 2020): weight·E(‖J_wᵀy‖ − a)², a its moving average."""

    network = "G"
    logged = ("pl_mean",)

    def __init__(self, weight: float = 2.0, decay: float = 0.01, batch_shrink: int = 2):
        if not weight >= 0:
            raise GankitError(f"penalties: path_length.weight: must be ≥ 0, got {weight}.")
        if not 0 <= decay <= 1:
            raise GankitError(f"penalties: path_length.decay: must be in [0, 1], got {decay}.")
        if isinstance(batch_shrink, bool) or not isinstance(batch_shrink, int) or batch_shrink < 1:
            raise GankitError(f"penalties: path_length.batch_shrink: a whole number ≥ 1 (the term uses 1/k of "
                              f"the batch; StyleGAN2: 2), got {batch_shrink!r}.")
        self.weight, self.decay, self.batch_shrink = float(weight), float(decay), batch_shrink
        self._mean: Optional[Tensor] = None  # a, on the images' device once used
        self._pending = 0.0  # a loaded (or initial) a, not yet on a device

    @property
    def pl_mean(self) -> float:
        """a, the moving average of the path lengths."""
        return float(self._mean) if self._mean is not None else self._pending

    def generator_term(self, G) -> Callable[[Tensor, Optional[Tensor], int], Tensor]:
        """The term for G: ``term(z, labels, step)``; G must have ``images_and_ws(z, labels)``."""
        if not callable(getattr(G, "images_and_ws", None)):
            raise GankitError(f"penalties: path_length needs a style-based generator, one with images_and_ws(z, y) "
                              f"that returns its images and the w they came from (stylegan2); "
                              f"'{type(G).__name__}' has none. Remove the penalty or use generator.name=stylegan2.")

        def term(z: Tensor, labels: Optional[Tensor], step: int) -> Tensor:
            n = max(1, z.shape[0] // self.batch_shrink)
            images, ws = G.images_and_ws(z[:n], None if labels is None else labels[:n])
            lengths = path_lengths(images, ws, path_noise(images), self.grad_scale)
            if self._mean is None:
                self._mean = torch.tensor(self._pending, dtype=torch.float32, device=lengths.device)
            penalty, self._mean = path_length_penalty(lengths, self._mean, self.decay, _global_mean(lengths.mean()))
            return self.weight * penalty.mean()

        return term

    def state_dict(self) -> dict:
        return {"pl_mean": self.pl_mean}

    def load_state_dict(self, d: dict) -> None:
        if "pl_mean" not in d:
            raise GankitError("penalties: the checkpoint's path_length state lacks pl_mean; resume from a checkpoint "
                              "written with path_length, or start a new run.")
        self._mean, self._pending = None, float(d["pl_mean"])
