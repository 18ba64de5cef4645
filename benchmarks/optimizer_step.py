"""Adam's step on the reference recipe's parameters (G and D, 7.8M): the plain loop, foreach and
the fused kernel, in ms per step on this machine's CPU (gankit uses the fused kernel everywhere).

    python benchmarks/optimizer_step.py [--threads N] [--record NAME]

With --record NAME the figures are also written as the record results/NAME.json (docs/benchmarks.md).
"""
import argparse
import os
import sys
import time
from pathlib import Path

import torch

from gankit.config import recipe
from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.experiments import records
from gankit.training.accel import native_bf16

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--record", metavar="NAME", help="also write the figures as the record results/NAME.json")
    args = ap.parse_args()
    if args.record:
        records.check_name(args.record)
    torch.set_num_threads(args.threads)
    cfg = recipe.load(ROOT / "recipes" / "mnist_dcgan.yaml")
    nets = [GENERATORS.build(cfg.generator, "generator"), DISCRIMINATORS.build(cfg.discriminator, "discriminator")]
    params = [p for n in nets for p in n.parameters()]
    for p in params:
        p.grad = torch.randn_like(p)
    model = "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    print(f"{sum(p.numel() for p in params) / 1e6:.1f}M parameters, {args.threads} thread(s), {model} "
          f"({'native' if native_bf16(True) else 'no native'} bf16)")
    rows = []
    for name, kw in (("plain loop", {"foreach": False}), ("foreach", {"foreach": True}), ("fused", {"fused": True})):
        opt = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999), **kw)
        for _ in range(3):
            opt.step()
        ms = []
        for _ in range(args.steps):
            t = time.perf_counter()
            opt.step()
            ms.append((time.perf_counter() - t) * 1e3)
        print(f"{name:>10}  {sum(ms) / len(ms):6.1f} ms/step")
        label = f"ms a step ({args.threads} thread{'s' if args.threads > 1 else ''}, {args.steps} steps)"
        rows.append(records.measured(f"{name} ({', '.join(f'{k}={v}' for k, v in kw.items())})",
                                     {"ms_per_step": records.over(ms, label)}))
    if args.record:
        record = records.new(args.record, rows, sys.argv[1:], "python benchmarks/optimizer_step.py")
        print(f"record: {records.write(record, ROOT / records.RESULTS_DIR)}")


if __name__ == "__main__":
    main()
