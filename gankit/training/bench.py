"""``gankit bench``: time a recipe's real training step without writing a run."""
import resource
import statistics
import tempfile
import time
from contextlib import contextmanager

import torch
from torch.utils.flop_counter import FlopCounterMode


class PhaseTimer:
    """Wall time per named phase of a step (synchronising CUDA around each phase)."""

    def __init__(self, device: torch.device):
        self.device, self.totals = device, {}

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextmanager
    def phase(self, name: str):
        self._sync()
        t0 = time.perf_counter()
        yield
        self._sync()
        self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - t0

    def wrap(self, obj, attr: str, name: str) -> None:
        fn = getattr(obj, attr)

        def timed(*a, **k):
            with self.phase(name):
                return fn(*a, **k)

        setattr(obj, attr, timed)


def matmul_gflops(device: torch.device, dtype=torch.float32, n: int = 2048, reps: int = 5) -> float:
    """The machine's measured dense matmul rate."""
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    a @ b
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def flops_per_step(trainer) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.iteration()
    return counter.get_total_flops()


def run(cfg, steps: int = 20, warmup: int = 5) -> dict:
    from gankit.training.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, tmp)
        dev = tr.acc.device
        for _ in range(warmup):
            tr.iteration()
        flops = flops_per_step(tr)
        timer = PhaseTimer(dev)
        timer.wrap(tr.stream, "batch", "data")
        timer.wrap(tr, "d_phase", "d_step")
        timer.wrap(tr, "g_phase", "g_step")
        timer.wrap(tr.d_opt, "step", "optimizer")
        timer.wrap(tr.g_opt, "step", "optimizer")
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        step_times = []
        for _ in range(steps):
            with timer.phase("step"):
                tr.iteration()
            step_times.append(timer.totals["step"] - sum(step_times))
        total = timer.totals["step"]
        ms = statistics.median(step_times) * 1e3
        split = {k: timer.totals.get(k, 0.0) / total for k in ("data", "d_step", "g_step", "optimizer")}
        # d_step and g_step include their optimizer step; report the optimizer separately
        split["d_step"] -= timer.totals.get("optimizer", 0.0) / total / 2
        split["g_step"] -= timer.totals.get("optimizer", 0.0) / total / 2
        split["generator_forward"] = max(0.0, 1.0 - sum(split.values()))
        images = cfg.trainer.batch_size * cfg.trainer.d_steps
        peak = (torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda"
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        achieved = flops / (ms / 1e3) / 1e9
        return {
            "device": str(dev), "precision": cfg.trainer.precision, "channels_last": cfg.trainer.channels_last,
            "batch_size": cfg.trainer.batch_size, "steps": steps, "ms_per_step": round(ms, 2),
            "images_per_s": round(images / (ms / 1e3), 1),
            "split": {k: round(v, 4) for k, v in split.items()},
            "peak_memory_mib": round(peak, 1), "peak_memory_kind": "cuda allocated" if dev.type == "cuda" else "process RSS",
            "gflop_per_step": round(flops / 1e9, 2), "achieved_gflops": round(achieved, 1),
            "matmul_gflops_fp32": round(matmul_gflops(dev), 1),
            "matmul_gflops_bf16": round(matmul_gflops(dev, torch.bfloat16), 1),
        }


def format_table(r: dict) -> str:
    s = r["split"]
    lines = [
        f"device {r['device']}  precision {r['precision']}  channels_last {r['channels_last']}  batch {r['batch_size']}",
        f"median step        {r['ms_per_step']:.1f} ms   ({r['images_per_s']:.0f} images/s over {r['steps']} steps)",
        "split of a step    " + "  ".join(f"{k} {100 * v:.1f}%" for k, v in s.items()),
        f"FLOPs per step     {r['gflop_per_step']:.2f} GFLOP  →  {r['achieved_gflops']:.0f} GFLOP/s achieved",
        f"machine matmul     {r['matmul_gflops_fp32']:.0f} GFLOP/s fp32, {r['matmul_gflops_bf16']:.0f} GFLOP/s bf16",
        f"peak memory        {r['peak_memory_mib']:.0f} MiB ({r['peak_memory_kind']})",
    ]
    return "\n".join(lines)
