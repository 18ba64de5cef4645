"""Making the Accelerator from a recipe, refusing what accelerate would silently ignore."""
import os

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DistributedDataParallelKwargs
from omegaconf import DictConfig

from gankit.config.validate import settings_problems
from gankit.errors import GankitError, raise_if


def native_bf16(cpu: bool) -> bool:
    """Whether this device runs bf16 matmuls/convolutions in hardware (else bf16 is emulated and slow)."""
    if not cpu:
        return torch.cuda.is_bf16_supported()
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def resolve_precision(precision: str, cpu: bool) -> str:
    """``auto`` → ``bf16`` where the hardware supports it natively, else ``no``."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(cpu) else "no"


def make_accelerator(cfg: DictConfig) -> Accelerator:
    t = cfg.trainer
    cpu = t.cpu or not torch.cuda.is_available()
    raise_if(settings_problems(cfg))
    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.ddp.find_unused_parameters,
                                        broadcast_buffers=cfg.ddp.broadcast_buffers)
    trackers = list(cfg.trackers) or None
    # accelerate keeps one global state per process; a second run in the same process (notebooks,
    # tests) may ask for another precision. The process group (PartialState) is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    acc = Accelerator(cpu=cpu, mixed_precision=resolve_precision(t.precision, cpu), gradient_accumulation_steps=t.grad_accum,
                      kwargs_handlers=[ddp], log_with=trackers, step_scheduler_with_optimizer=False)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and acc.num_processes == 1:
        raise GankitError(
            f"launcher: WORLD_SIZE={world} but accelerate formed no process group, so each process would train "
            f"its own copy. On CPUs launch with ACCELERATE_USE_CPU=1 (e.g. ACCELERATE_USE_CPU=1 torchrun "
            f"--standalone --nproc_per_node {world} -m gankit train ...)."
        )
    return acc
