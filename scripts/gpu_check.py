#!/usr/bin/env python
"""Check a lent GPU: fp32, bf16 and fp16 training steps of the reference recipe, with images/s.

Run from a checkout after ``pip install -e .``::

    python scripts/gpu_check.py                # every precision the GPU supports
    python scripts/gpu_check.py --steps 100 --batch-size 256 --json gpu_check.json

Each precision runs in its own process (accelerate's state is per process), on synthetic
28×28 data with the reference DCGAN (recipes/mnist_dcgan.yaml). It prints a table and the
same numbers as JSON; the exit status is 1 when a precision fails or gives a non-finite loss.
Without a CUDA GPU it says so and exits 0 (``--device cpu`` runs fp32 and bf16 on the CPU,
to check the script itself).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from gankit.config import recipe
from gankit.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "mnist_dcgan.yaml"
PRECISIONS = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


def one(precision: str, steps: int, warmup: int, batch_size: int, device: str) -> dict:
    """Train ``warmup + steps`` iterations in this process and time the last ``steps``."""
    overrides = [f"trainer.batch_size={batch_size}",
                 f"data.size={max(4 * batch_size, 1024)}", "data.root=null", "data.split=null", "data.name=synthetic",
                 f"trainer.cpu={'true' if device == 'cpu' else 'false'}", "trainer.max_steps=1000000"]
    if precision != "fp32":  # the reference recipe trains in fp32 (precision "no")
        overrides.append(f"trainer.precision={PRECISIONS[precision]}")
    cfg = recipe.load(RECIPE, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, Path(tmp) / "run")
        sync = torch.cuda.synchronize if tr.acc.device.type == "cuda" else (lambda: None)
        losses = []
        for i in range(warmup + steps):
            if i == warmup:
                sync()
                start = time.perf_counter()
            out = tr.step()
            losses.append(torch.stack([out["d_loss"], out["g_loss"]]))
            tr.state.step += 1
        sync()
        seconds = time.perf_counter() - start
        stats = torch.stack(losses).float().cpu()
    finite = bool(torch.isfinite(stats).all())
    return {"precision": precision, "device": str(tr.acc.device),
            "gpu": torch.cuda.get_device_name() if tr.acc.device.type == "cuda" else None,
            "batch_size": batch_size, "steps": steps, "seconds": round(seconds, 3),
            "images_per_s": round(steps * batch_size / seconds, 1), "finite": finite,
            "d_loss_last": round(float(stats[-1, 0]), 4), "g_loss_last": round(float(stats[-1, 1]), 4),
            "torch": torch.__version__}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=50, help="timed iterations per precision")
    p.add_argument("--warmup", type=int, default=10, help="untimed iterations first")
    p.add_argument("--batch-size", type=int, default=128, help="global batch (the reference recipe: 128)")
    p.add_argument("--precisions", default="fp32,bf16,fp16")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    p.add_argument("--one", help=argparse.SUPPRESS)  # child process: one precision, JSON on stdout
    args = p.parse_args(argv)

    if args.one:
        print("GPU_CHECK_RESULT " + json.dumps(one(args.one, args.steps, args.warmup, args.batch_size, args.device)))
        return 0

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to check.")
        return 0
    wanted = [s.strip() for s in args.precisions.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in PRECISIONS]
    if unknown:
        p.error(f"--precisions: unknown {unknown}; choose from {list(PRECISIONS)}")
    if args.device == "cpu":
        wanted = [s for s in wanted if s != "fp16"]  # gankit refuses fp16 on a CPU
    elif "bf16" in wanted and not torch.cuda.is_bf16_supported():
        print("gpu_check: this GPU has no bf16 support; skipping bf16.")
        wanted.remove("bf16")

    results = []
    for prec in wanted:
        cmd = [sys.executable, __file__, "--one", prec, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--batch-size", str(args.batch_size), "--device", args.device]
        env = {**os.environ, "WANDB_MODE": "disabled"}
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("GPU_CHECK_RESULT ")), None)
        if proc.returncode or line is None:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            results.append({"precision": prec, "error": " | ".join(tail) or f"exit {proc.returncode}"})
        else:
            results.append(json.loads(line.split(" ", 1)[1]))

    ok = all("error" not in r and r["finite"] for r in results)
    base = next((r["images_per_s"] for r in results if r.get("precision") == "fp32" and "error" not in r), None)
    device = next((r.get("gpu") or r.get("device") for r in results if "error" not in r), args.device)
    print(f"\ngankit GPU check: reference DCGAN, synthetic 28×28, global batch {args.batch_size}, "
          f"{args.steps} timed steps after {args.warmup} warm-up, on {device}\n")
    print(f"{'precision':<10} {'images/s':>10} {'vs fp32':>8} {'finite':>7} {'d_loss':>8} {'g_loss':>8}")
    for r in results:
        if "error" in r:
            print(f"{r['precision']:<10} FAILED: {r['error'][:200]}")
            continue
        speed = f"{r['images_per_s'] / base:.2f}×" if base else "-"
        print(f"{r['precision']:<10} {r['images_per_s']:>10.1f} {speed:>8} {str(r['finite']):>7} "
              f"{r['d_loss_last']:>8.3f} {r['g_loss_last']:>8.3f}")
    report = {"ok": ok, "results": results}
    print("\n" + json.dumps(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
