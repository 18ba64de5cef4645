"""``gankit check``'s time per step, measured within a time and a memory budget.

A big recipe at its own batch may need more memory than the machine has, or minutes a step (the
paper-size R3GAN at batch 512 once ran a 24 GiB machine out of memory). So the estimate first
times a micro-batch (``PROBE_BATCH`` images, one warm-up step, then up to ``steps`` timed ones
while the time budget lasts) in a throwaway run, and measures what its build and its steps added
to the memory. It then times the largest of the recipe's batch and the doublings of the
micro-batch below it that are predicted to fit both budgets (time and memory growing in
proportion to the batch, the weights' and optimizer's share included: an overestimate), and
scales that time to the recipe's batch in proportion. The way it was made is part of the answer
(``Timing.how``): "2 steps on batch 4 of 512 (after 1 warm-up step), scaled ×128 ...: a batch of
8 would need about 5.1 GiB of memory, over this check's 4.0 GiB budget".

Memory is the process's resident memory on a CPU (its peak since the probe began: Linux's
VmHWM, reset through ``/proc/self/clear_refs``) and allocated device memory on a GPU.
"""
import gc
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from omegaconf import OmegaConf

from gankit.config.validate import ValidRecipe
from gankit.training.bench import step_times
from gankit.training.trainer import Trainer

PROBE_BATCH = 4  # images of the first, always affordable, timing
TIME_BUDGET_S = 20.0  # seconds the timing may take (its first probe's warm-up and first step always run)
CPU_MEMORY_CAP = 4 << 30  # bytes the timed runs may add on a CPU (at most half the memory available)
GPU_MEMORY_SHARE = 0.8  # of the GPU memory free when the check starts


@dataclass
class Timing:
    """Seconds per training step at the recipe's batch, and how they were found."""

    step_s: float  # at the recipe's batch (scaled when ``batch`` is smaller)
    device: str
    batch: int  # the batch the steps were timed on
    recipe_batch: int
    steps: int  # timed steps after the warm-up step (0: the warm-up step alone, which used up the time budget)
    why: str = ""  # why a larger batch was not timed (when ``batch`` < ``recipe_batch``)

    @property
    def how(self) -> str:
        batch = (f"the recipe's batch of {self.batch}" if self.batch == self.recipe_batch else
                 f"batch {self.batch} of {self.recipe_batch}")
        timed = (f"{self.steps} step{'s' if self.steps > 1 else ''} on {batch} (after 1 warm-up step)" if self.steps
                 else f"the warm-up step alone on {batch} (it used up the time budget; its one-time setup makes "
                      f"the time an overestimate)")
        if self.batch == self.recipe_batch:
            return timed
        gpu = " (on a GPU a small batch leaves it idle: an upper bound)" if self.device.startswith("cuda") else ""
        return f"{timed}, scaled ×{self.recipe_batch / self.batch:g} in proportion to the batch{gpu}: {self.why}"


@dataclass
class _Probe:
    batch: int
    step_s: float  # median of the timed steps
    steps: int
    build_s: float  # building the throwaway run
    warmup_s: float  # its first step (one-time setup included)
    fixed: int  # bytes its build added
    per_step: int  # bytes its steps added on top
    device: str


def time_steps(valid: ValidRecipe, steps: int = 3, *, time_budget_s: float = TIME_BUDGET_S,
               memory_budget: int | None = None) -> Timing:
    """Seconds per training step of ``valid`` at its batch, timed within the budgets (see the module doc).
    ``memory_budget``: bytes the timed runs may add (default: ``CPU_MEMORY_CAP`` or half the memory
    available on a CPU, ``GPU_MEMORY_SHARE`` of the free GPU memory on a GPU)."""
    full = int(valid.cfg.trainer.batch_size)
    start = time.perf_counter()
    first = _probe(valid, min(full, PROBE_BATCH), steps, deadline=start + time_budget_s)
    budget = memory_budget if memory_budget is not None else _memory_budget(first.device)
    spent = time.perf_counter() - start
    fits, why = first, ""
    for batch in _candidates(first.batch, full):  # the largest first: `why` ends as the next larger one's reason
        need, take = _predict(first, batch)
        if need > budget:
            why = f"a batch of {batch} would need about {_bytes(need)} of memory, over this check's "
            why += f"{_bytes(budget)} budget"
        elif spent + take > time_budget_s:
            why = f"a batch of {batch} would take about {take:.1f} s to time, over this check's "
            why += f"{time_budget_s:g} s budget"
        else:
            fits = _probe(valid, batch, steps, deadline=start + time_budget_s)
            break
    return Timing(fits.step_s * full / fits.batch, fits.device, fits.batch, full, fits.steps, why)


def _candidates(probe: int, full: int) -> list[int]:
    """The recipe's batch, then the doublings of the probe's batch below it, largest first."""
    out, b = [], probe * 2
    while b < full:
        out.append(b)
        b *= 2
    return ([full] if full > probe else []) + out[::-1]


def _predict(p: _Probe, batch: int) -> tuple[int, float]:
    """(bytes, seconds) a throwaway run at ``batch`` would take, grown from probe ``p``: the memory of its
    steps and the time of a step in proportion to the batch; its build and one-time setup as they were.
    The seconds are those of the warm-up and one timed step (more are timed only while the budget lasts)."""
    scale = batch / p.batch
    setup = max(0.0, p.warmup_s - p.step_s)
    return int(p.fixed + p.per_step * scale), p.build_s + setup + 2 * p.step_s * scale


def _probe(valid: ValidRecipe, batch: int, steps: int, deadline: float) -> _Probe:
    """A throwaway run at ``batch`` (no gradient accumulation): one warm-up step, then up to ``steps`` timed
    ones while the next is expected to end before ``deadline`` (a perf_counter time). Where the warm-up used
    up the time, its own time stands for a step (an overestimate: one-time setup included)."""
    cfg = OmegaConf.merge(valid.cfg, {"trainer": {"batch_size": batch, "grad_accum": 1}})
    gc.collect()
    gpu = torch.cuda.is_available() and not valid.cfg.trainer.cpu
    if gpu:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    base = _used(gpu)
    _reset_peak()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gankit-check-") as tmp:
        tr = Trainer(replace(valid, cfg=cfg), Path(tmp) / "run")
        built, t1 = _used(gpu), time.perf_counter()
        warmup_s, times = step_times(tr, 1)[0], []
        while len(times) < steps and time.perf_counter() + (times[-1] if times else 0.0) <= deadline:
            times += step_times(tr, 1)
        peak, device = _peak(gpu), str(tr.acc.device)
        del tr
    gc.collect()
    return _Probe(batch, statistics.median(times) if times else warmup_s, len(times), t1 - t0, warmup_s,
                  max(0, built - base), max(0, peak - max(built, base)), device)


def _memory_budget(device: str) -> int:
    if device.startswith("cuda"):
        torch.cuda.empty_cache()  # the probe's freed blocks count as free
        return int(GPU_MEMORY_SHARE * torch.cuda.mem_get_info()[0])
    available = _meminfo("MemAvailable")
    return min(CPU_MEMORY_CAP, available // 2) if available else CPU_MEMORY_CAP


def _used(gpu: bool) -> int:
    """Bytes in use now: allocated on the GPU, or this process's resident memory."""
    if gpu:
        return torch.cuda.memory_allocated()
    return _status("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak(gpu: bool) -> int:
    """Peak bytes since the probe began (where the peak cannot be reset: since the process began)."""
    if gpu:
        return torch.cuda.max_memory_allocated()
    return _status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from VmRSS
    except OSError:
        pass


def _status(key: str) -> int:
    return _field(Path("/proc/self/status"), key)


def _meminfo(key: str) -> int:
    return _field(Path("/proc/meminfo"), key)


def _field(path: Path, key: str) -> int:
    """A ``key: N kB`` field of a /proc file in bytes (0 where there is none)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _bytes(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.0f} MiB"
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KiB"
