"""``gankit bench``: time a recipe's real training step without writing a run."""
import os
import resource
import statistics
import tempfile
import time
from collections import defaultdict

import torch
from omegaconf import DictConfig
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils.flop_counter import FlopCounterMode

from gankit.config.validate import ValidRecipe
from gankit.training import accel
from gankit.training.trainer import Trainer

# The profiler that splits a step logs an error line per run on a machine without a GPU; keep it quiet.
os.environ.setdefault("KINETO_LOG_LEVEL", "5")


def matmul_gflops(device: torch.device, dtype=torch.float32, n: int = 2048, reps: int = 5) -> float:
    """The machine's measured dense matmul rate."""
    return 2 * n**3 / accel.matmul_seconds(device, dtype, n, reps) / 1e9


LOW_PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16}


def machine_peaks(device: torch.device) -> dict:
    """The measured matmul rates (GFLOP/s) of fp32 and of each low precision this device offers. A low
    precision the hardware would emulate is not run at full size (that alone took minutes on AVX2-only
    CPUs): it is reported as ``"emulated"`` with the slowdown a tiny probe measured (``accel.slowdown_probe``)."""
    cpu = device.type != "cuda"
    out = {"matmul_gflops_fp32": round(matmul_gflops(device), 1)}
    for name, dtype in LOW_PRECISIONS.items():
        if name == "fp16" and cpu:
            continue  # refused on CPUs (trainer.precision validation)
        if accel.native(name, cpu):
            out[f"matmul_gflops_{name}"] = round(matmul_gflops(device, dtype), 1)
        else:
            probe = accel.slowdown_probe(device, dtype)
            out[f"matmul_gflops_{name}"] = "emulated"
            out[f"{name}_emulated"] = {"slowdown": float(f"{probe['slowdown']:.3g}"), "probe_n": probe["n"],
                                       "gflops": float(f"{probe['gflops']:.3g}")}
    return out


def peak_for(peaks: dict, precision: str) -> float:
    """The machine's measured rate for a resolved precision (``no`` = fp32); an emulated one's is its probe's."""
    key = "fp32" if precision == "no" else precision
    rate = peaks[f"matmul_gflops_{key}"]
    return peaks[f"{key}_emulated"]["gflops"] if rate == "emulated" else rate


def flops_per_step(trainer) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step()
    return counter.get_total_flops()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_times(trainer, steps: int, warmup: int = 0) -> list[float]:
    """Seconds of each of ``steps`` training steps (after ``warmup`` untimed ones), the device's work included."""
    dev = trainer.acc.device
    times = []
    for i in range(warmup + steps):
        _sync(dev)
        t0 = time.perf_counter()
        trainer.step()
        _sync(dev)  # (a CPU step is done when it returns)
        trainer.state.step += 1
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def phase_split(trainer, steps: int) -> dict[str, float]:
    """Fractions of a step spent in each named phase (without its data and optimizer parts), in data
    loading, in optimizer steps and elsewhere, read from the profiler's ``phase:*`` records (host time)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            with record_function("bench:step"):
                trainer.step()
            _sync(trainer.acc.device)
    total, inside = 0.0, defaultdict(float)
    for ev in prof.events():
        if ev.name == "bench:step":
            total += ev.cpu_time_total
            continue
        kind = "data" if ev.name == "data" else "optimizer" if ev.name.startswith("Optimizer.step#") else \
            ev.name if ev.name.startswith("phase:") else None
        if kind is None:
            continue
        parent = ev.cpu_parent
        while parent is not None and not parent.name.startswith("phase:"):
            parent = parent.cpu_parent
        if kind.startswith("phase:"):
            inside[kind] += ev.cpu_time_total
        else:
            inside[kind] += ev.cpu_time_total
            if parent is not None:
                inside[parent.name] -= ev.cpu_time_total
    split = {f"{k.removeprefix('phase:').lower()}_step" if k.startswith("phase:") else k: v / total
             for k, v in inside.items()}
    split["other"] = max(0.0, 1.0 - sum(split.values()))
    return split


def run(recipe: ValidRecipe | DictConfig, steps: int = 20, warmup: int = 5) -> dict:
    """Time a recipe's training step (a ``ValidRecipe``, or a recipe loaded in Python: validated once)."""
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(recipe, tmp)
        cfg = tr.cfg
        dev = tr.acc.device
        step_times(tr, 0, warmup)
        flops = flops_per_step(tr)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        times = step_times(tr, steps)
        ms = statistics.median(times) * 1e3
        split = phase_split(tr, min(steps, 5))
        images = cfg.trainer.batch_size * cfg.trainer.d_steps
        peak_mem = (torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda"
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        achieved = flops / (ms / 1e3) / 1e9
        precision = tr.acc.mixed_precision
        peaks = machine_peaks(dev)
        peak = peak_for(peaks, precision)
        return {
            "device": str(dev), "precision": cfg.trainer.precision, "precision_resolved": precision,
            "compile": accel.resolve_compile(cfg.trainer.compile, dev), "channels_last": cfg.trainer.channels_last,
            "batch_size": cfg.trainer.batch_size, "steps": steps, "ms_per_step": round(ms, 2),
            "images_per_s": round(images / (ms / 1e3), 1), "images_per_step": images,
            "step_times_s": [round(t, 6) for t in times],
            "split": {k: round(v, 4) for k, v in split.items()},
            "peak_memory_mib": round(peak_mem, 1),
            "peak_memory_kind": "cuda allocated" if dev.type == "cuda" else "process RSS",
            "gflop_per_step": round(flops / 1e9, 2), "achieved_gflops": round(achieved, 1),
            **peaks, "peak_gflops": round(peak, 1), "fraction_of_peak": round(achieved / peak, 3),
        }


def format_table(r: dict) -> str:
    s = r["split"]
    lines = [
        f"device {r['device']}  precision {r['precision']}  compile {r['compile']}  channels_last {r['channels_last']}  batch {r['batch_size']}",
        f"median step        {r['ms_per_step']:.1f} ms   ({r['images_per_s']:.0f} images/s over {r['steps']} steps)",
        "split of a step    " + "  ".join(f"{k} {100 * v:.1f}%" for k, v in s.items()),
        f"FLOPs per step     {r['gflop_per_step']:.2f} GFLOP  →  {r['achieved_gflops']:.0f} GFLOP/s achieved",
        "machine matmul     " + ", ".join(_rate(r, k) for k in ("fp32", *LOW_PRECISIONS) if f"matmul_gflops_{k}" in r),
        f"fraction of peak   {100 * r['fraction_of_peak']:.0f}% of the measured "
        f"{'fp32' if r['precision_resolved'] == 'no' else r['precision_resolved']} matmul rate ({r['peak_gflops']:.0f} GFLOP/s)",
        f"peak memory        {r['peak_memory_mib']:.0f} MiB ({r['peak_memory_kind']})",
    ]
    return "\n".join(lines)


def _rate(r: dict, key: str) -> str:
    rate = r[f"matmul_gflops_{key}"]
    if rate != "emulated":
        return f"{rate:.0f} GFLOP/s {key}"
    e = r[f"{key}_emulated"]
    return f"{key} emulated ({e['slowdown']:.0f}x slower than fp32 in a {e['probe_n']}x{e['probe_n']} probe; not benched)"
