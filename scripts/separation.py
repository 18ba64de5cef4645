"""Does a metric separate good from bad? Real MNIST test images vs degraded copies.

    python scripts/separation.py --root ../shared/data --n 5000 [--fast] [--record NAME]

Prints a markdown table: FD, mode coverage and the k-NN metrics of each set against real set A; with
``--record NAME`` also writes them to ``results/NAME.json`` (one row a set, one value each).
"""
import argparse
import sys
import time

import torch

from gankit.data.base import to_unit_range
from gankit.data.mnist import mnist
from gankit.experiments import records
from gankit.metrics.classifier import ModeCoverage
from gankit.metrics.frechet import FrechetDistance
from gankit.metrics.labels import Described
from gankit.metrics.knn import density_coverage, precision_recall
from gankit.metrics.lenet import lenet_mnist


def main(argv=None) -> None:
    import torchvision.transforms.functional as TF

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="folder with the MNIST test split IDX files")
    p.add_argument("--n", type=int, default=5000, help="images per set (at most 5000)")
    p.add_argument("--fast", action="store_true", help="bf16 + channels_last features")
    p.add_argument("--record", metavar="NAME", help="also write the table to results/NAME.json")
    args = p.parse_args(argv)
    if args.record:
        records.check_name(args.record)
    n = args.n
    d = mnist(args.root, "test", download=False)
    perm = torch.randperm(len(d), generator=torch.Generator().manual_seed(0))
    x, y = to_unit_range(d.images[perm]), d.labels[perm]
    real_a, real_b = x[:n], x[n:2 * n]
    g = torch.Generator().manual_seed(1)
    ones = x[n:][y[n:] == 1]
    ones = ones[torch.randint(0, len(ones), (n,), generator=g)]
    sets = {"real B (the next n images), one real-vs-real split": real_b,
            "real B + Gaussian pixel noise, σ 0.1 of the range": (
                real_b + 0.2 * torch.randn(real_b.shape, generator=g)).clamp(-1, 1),
            "real B blurred (Gaussian, σ 1 px)": TF.gaussian_blur(real_b, 5, 1.0),
            "one class (digit 1, n draws with repeats)": ones,
            "uniform noise in [-1, 1]": torch.rand(real_b.shape, generator=g) * 2 - 1}
    ex = lenet_mnist(fast=args.fast)
    t0 = time.time()
    ref = ex.extract(real_a)
    print(f"features for {n} images: {time.time() - t0:.2f} s (fast={args.fast})")
    rows = []
    print("| set | FD | modes | modes_kl | precision | recall | density | coverage |\n|---|---|---|---|---|---|---|---|")
    for name, images in sets.items():
        f = ex.extract(images)
        fd = FrechetDistance()(ref["features"], f["features"])["fd"]
        mc = ModeCoverage()(None, f["probs"])
        pr = precision_recall(ref["features"], f["features"])
        dc = density_coverage(ref["features"], f["features"])
        print(f"| {name} | {fd:.2f} | {mc['modes']:.0f} | {mc['modes_kl']:.3f} | "
              + " | ".join(f"{v:.3f}" for v in pr + dc) + " |")
        measured = {"fd": fd, "modes": mc["modes"], "modes_kl": mc["modes_kl"], **dict(zip(
            ("precision", "recall", "density", "coverage"), pr + dc))}
        described = Described("lenet_mnist", n, n)
        rows.append(records.measured(name, {k: records.over([float(v)], described.label(k))
                                            for k, v in measured.items()}, precision="bf16" if args.fast else "fp32"))
    if args.record:
        record = records.new(args.record, rows, sys.argv[1:] if argv is None else argv, "python scripts/separation.py")
        print(f"record: {records.write(record)}")

if __name__ == "__main__":
    main()
