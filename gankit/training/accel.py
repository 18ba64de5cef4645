"""Making the Accelerator from a recipe, refusing what accelerate would silently ignore, and
knowing what the hardware runs natively (bf16, fp16, torch.compile) before a run relies on it.

The settings this machine cannot honour were refused when the recipe was validated
(``gankit.config.validate.settings_problems``); they are not checked again here."""
import os
import statistics
import time
import warnings
from datetime import timedelta

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DistributedDataParallelKwargs, InitProcessGroupKwargs
from omegaconf import DictConfig

from gankit.errors import GankitError, first_line


# oneDNN instruction-set caps (ONEDNN_MAX_CPU_ISA) under which bf16 still runs natively.
_BF16_ISAS = ("ALL", "DEFAULT", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
              "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2")


def native_bf16(cpu: bool) -> bool:
    """Whether this device runs bf16 matmuls/convolutions in hardware (else bf16 is emulated and slow)."""
    if not cpu:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).upper()
    if capped and capped not in _BF16_ISAS:  # oneDNN told to use an older instruction set: bf16 is emulated
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def native_fp16(cpu: bool) -> bool:
    """Whether this device runs fp16 matmuls fast: CUDA GPUs with tensor cores (compute capability 7.0 and
    later) or the P100 (6.0). Other 6.x GPUs run fp16 at a fraction of their fp32 rate; CPUs refuse fp16."""
    if cpu:
        return False
    cap = torch.cuda.get_device_capability()
    return cap >= (7, 0) or cap == (6, 0)


def native(precision: str, cpu: bool) -> bool:
    """Whether a resolved precision (``no``, ``bf16``, ``fp16``) runs natively here (fp32 always does)."""
    return {"bf16": native_bf16, "fp16": native_fp16}.get(precision, lambda _cpu: True)(cpu)


def matmul_seconds(device: torch.device, dtype: torch.dtype, n: int, reps: int = 3) -> float:
    """Median seconds of an n×n @ n×n matmul (after one untimed one)."""
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    times = []
    for i in range(reps + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def slowdown_probe(device: torch.device, dtype: torch.dtype = torch.bfloat16, budget_s: float = 0.08) -> dict:
    """How many times slower a ``dtype`` matmul runs than fp32, timed on squares of 64×64 and 128×128, then
    larger while the next size fits in ``budget_s`` (an emulated kernel never runs big).

    Returns ``{"n", "slowdown", "gflops"}``: the largest size timed, the fp32 rate (on at least 256×256)
    over the ``dtype`` rate there, and that ``dtype`` rate (GFLOP/s)."""
    start, n = time.perf_counter(), 64
    while True:
        low, m = matmul_seconds(device, dtype, n), max(n, 256)  # fp32 on 256×256 at least: small ones run below its rate
        ref = matmul_seconds(device, torch.float32, m)
        result = {"n": n, "slowdown": 2 * m**3 / ref / (2 * n**3 / low), "gflops": 2 * n**3 / low / 1e9}
        # the next size: 4 matmuls at 8× the work (fp32 grows only past 256)
        if n >= 512 or (n >= 128 and time.perf_counter() - start + 8 * 4 * low + 4 * ref > budget_s):
            return result
        n *= 2


def resolve_precision(precision: str, cpu: bool) -> str:
    """``auto`` → ``bf16`` where the hardware supports it natively, else ``no``."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(cpu) else "no"


def resolve_compile(compile_: bool | str, device: torch.device) -> bool:
    """``trainer.compile``: ``auto`` → compile on CUDA, eager on CPU (where compiling measured slower)."""
    return device.type == "cuda" if compile_ == "auto" else bool(compile_)


def process_group_kwargs(cfg: DictConfig) -> dict:
    """What forms the process group, from the recipe: its timeout (``ddp.timeout_s``)."""
    return {"timeout": timedelta(seconds=cfg.ddp.timeout_s)}


def warn_if_emulated(precision: str, cpu: bool, device: torch.device) -> None:
    """An explicit bf16/fp16 that this hardware would emulate: say how much slower (measured) and the fix."""
    if precision not in ("bf16", "fp16") or native(precision, cpu):
        return
    probe = slowdown_probe(device, torch.bfloat16 if precision == "bf16" else torch.float16)
    warnings.warn(
        f"trainer.precision: {precision} is emulated on this {'CPU' if cpu else 'GPU'} (no native {precision} "
        f"kernels): a {probe['n']}x{probe['n']} {precision} matmul ran {probe['slowdown']:.0f}x slower than fp32 here, "
        f"so training would be many times slower than in fp32. Set trainer.precision=no (fp32) or "
        f"trainer.precision=auto ({precision} only where the hardware runs it natively).",
        RuntimeWarning, stacklevel=2)


def loss_scale(acc: Accelerator) -> torch.Tensor | None:
    """fp16: the grad scaler's current scale as a device tensor (read without a host sync, through the
    scaler's own ``scale``); None without a scaler (fp32, bf16)."""
    if acc.scaler is None or not acc.scaler.is_enabled():
        return None
    return acc.scaler.scale(torch.ones((), device=acc.device))


def make_accelerator(cfg: DictConfig, *, cpu: bool | None = None, training: bool = True) -> Accelerator:
    """The one Accelerator of every verb (train, check, bench, eval): the recipe's precision, gradient
    accumulation and process group settings, and no trackers: a training run attaches those itself, with
    their files in its run directory (``gankit.training.trackers.start``), so no other verb logs anywhere.

    ``cpu``: the device choice of a verb that has its own (``eval --device``); default the recipe's
    (``trainer.cpu``, or no GPU). ``training=False``: nothing is trained, so an emulated precision is not
    warned about."""
    t = cfg.trainer
    cpu = (t.cpu or not torch.cuda.is_available()) if cpu is None else cpu
    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.ddp.find_unused_parameters,
                                        broadcast_buffers=cfg.ddp.broadcast_buffers)
    group = InitProcessGroupKwargs(**process_group_kwargs(cfg))
    # accelerate keeps one global state per process; a second run in the same process (notebooks,
    # tests) may ask for another precision. The process group (PartialState) is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    acc = Accelerator(cpu=cpu, mixed_precision=resolve_precision(t.precision, cpu), gradient_accumulation_steps=t.grad_accum,
                      kwargs_handlers=[ddp, group], step_scheduler_with_optimizer=False)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and acc.num_processes == 1:
        raise GankitError(
            f"launcher: WORLD_SIZE={world} but accelerate formed no process group, so each process would train "
            f"its own copy. On CPUs launch with ACCELERATE_USE_CPU=1 (e.g. ACCELERATE_USE_CPU=1 torchrun "
            f"--standalone --nproc_per_node {world} -m gankit train ...)."
        )
    if training and acc.is_main_process:
        warn_if_emulated(t.precision, cpu, acc.device)
    return acc


# What torch's collectives raise when a peer process died (its sockets closed) or stopped answering.
_LOST_PEER = ("connection reset", "connection closed", "broken pipe", "timed out", "timeout", "gloo", "nccl",
              "socket", "peer")


def lost_process_error(e: BaseException, rank: int, world: int, timeout_s: float, run: str) -> GankitError | None:
    """A collective that failed because another process died or hangs, as a GankitError that says which
    rank likely died and how to resume ``run``; ``None`` when ``e`` is something else."""
    text = str(e).strip()
    dist_error = getattr(torch.distributed, "DistError", ())
    if world < 2 or not (isinstance(e, dist_error) or (isinstance(e, RuntimeError)
                                                        and any(k in text.lower() for k in _LOST_PEER))):
        return None
    others = [r for r in range(world) if r != rank]
    listed = ", ".join(map(str, others)) if len(others) <= 8 else f"the other {len(others)}"
    who = f"rank {others[0]}" if len(others) == 1 else f"one of ranks {listed} (the first to fail in the launcher's log)"
    return GankitError(
        f"distributed: rank {rank} of {world} lost contact with another process, so training stopped: {who} "
        f"likely died (killed, out of memory, its machine lost) or stopped answering for over ddp.timeout_s="
        f"{timeout_s:g} s ({type(e).__name__}: {first_line(e)}). Look at that rank's log for the cause, then "
        f"continue from the last complete checkpoint with `gankit train --resume {run}` launched as before (on "
        f"any number of processes). If a process was only slow (a long evaluation or checkpoint on a slow disk), "
        f"raise ddp.timeout_s.")
