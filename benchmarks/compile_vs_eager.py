#!/usr/bin/env python
"""Eager against torch.compile for the reference recipe, in fp32, bf16 and fp16, on a CUDA GPU.

    python benchmarks/compile_vs_eager.py                    # 6 benches: {fp32, bf16, fp16} x {eager, compile}
    python benchmarks/compile_vs_eager.py --steps 50 --json compile_vs_eager.json
    python benchmarks/compile_vs_eager.py --device cpu --precisions fp32 --steps 5   # check the script on a CPU

Each bench is ``gankit bench recipes/mnist_dcgan.yaml`` (synthetic 28×28 data of the same shape as
MNIST) in its own process, so compile caches and accelerate's state do not carry over. It prints one
line per bench (ms per step, images/s, the fraction of the GPU's measured matmul peak for that
precision) and, per precision, compile's speed-up over eager: the figures that decide what
``trainer.compile=auto`` picks on CUDA. Without a CUDA GPU (and without ``--device cpu``) it says so
and exits 0. Not run in CI.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "mnist_dcgan.yaml"
PRECISIONS = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


def bench(precision: str, compile_: bool, args) -> dict:
    cmd = [sys.executable, "-m", "gankit", "bench", str(RECIPE), "--json", "--steps", str(args.steps),
           "--warmup", str(args.warmup), "data.name=synthetic", "data.root=null", "data.split=null",
           f"data.size={max(8 * args.batch_size, 2048)}", f"trainer.batch_size={args.batch_size}",
           f"trainer.precision={PRECISIONS[precision]}", f"trainer.compile={str(compile_).lower()}",
           f"trainer.cpu={str(args.device == 'cpu').lower()}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        return {"precision": precision, "compile": compile_, "error": (proc.stderr or proc.stdout).strip()[-600:]}
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    return {"precision": precision, "compile": compile_, **{k: out[k] for k in (
        "device", "ms_per_step", "images_per_s", "achieved_gflops", "peak_gflops", "fraction_of_peak")}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=50, help="timed steps per bench")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (compiling happens here)")
    p.add_argument("--batch-size", type=int, default=128, help="the reference recipe's batch: 128")
    p.add_argument("--precisions", default="fp32,bf16,fp16")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--timeout", type=int, default=900, help="seconds per bench")
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("compile_vs_eager: no CUDA GPU here; nothing to measure (use --device cpu to check the script).")
        return 0
    if args.device == "cuda":
        print(f"GPU {torch.cuda.get_device_name()}  torch {torch.__version__}  batch {args.batch_size}")
    results, failed = [], False
    for precision in args.precisions.split(","):
        if args.device == "cpu" and precision == "fp16":
            continue  # refused on CPUs
        pair = {}
        for compile_ in (False, True):
            r = bench(precision, compile_, args)
            results.append(r)
            if "error" in r:
                failed = True
                print(f"{precision:5} {'compile' if compile_ else 'eager':8} FAILED: {r['error']}")
                continue
            pair[compile_] = r
            print(f"{precision:5} {'compile' if compile_ else 'eager':8} {r['ms_per_step']:8.2f} ms/step "
                  f"{r['images_per_s']:10.0f} images/s  {100 * r['fraction_of_peak']:5.1f}% of the "
                  f"{precision} matmul peak ({r['peak_gflops']:.0f} GFLOP/s)")
        if len(pair) == 2:
            print(f"{precision:5} compile/eager speed-up {pair[False]['ms_per_step'] / pair[True]['ms_per_step']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
