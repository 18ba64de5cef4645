"""Adam's step on the reference recipe's parameters (G and D, 7.8M): the plain loop, foreach and
the fused kernel, in ms per step on this machine's CPU (gankit uses the fused kernel everywhere).

    python benchmarks/optimizer_step.py [--threads N]
"""
import argparse
import os
import time
from pathlib import Path

import torch

from gankit.config import recipe
from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.training.accel import native_bf16

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
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
    for name, kw in (("plain loop", {"foreach": False}), ("foreach", {"foreach": True}), ("fused", {"fused": True})):
        opt = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999), **kw)
        for _ in range(3):
            opt.step()
        t = time.perf_counter()
        for _ in range(args.steps):
            opt.step()
        print(f"{name:>10}  {(time.perf_counter() - t) / args.steps * 1e3:6.1f} ms/step")


if __name__ == "__main__":
    main()
