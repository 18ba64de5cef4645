"""Train every MNIST-family recipe for a fixed budget and measure it: the table in docs/recipes.md.

For each recipe: `gankit train` for --steps generator steps (fast settings: bf16 + channels_last),
then `gankit eval` (FD, classifier score, mode coverage on 10k samples with the matching LeNet;
for class-conditional recipes also label agreement, the share of samples the LeNet classifies as
the requested label, and intra-FD, the mean per-class FD). Writes a small grid per recipe under
docs/images/recipes/ and prints a Markdown table.

Usage: python benchmarks/zoo_table.py [--steps 300] [--out /tmp/zoo]
"""
import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from gankit.store.grids import grids

ROOT = Path(__file__).resolve().parents[1]
MNIST = ["data.root=" + str(ROOT.parent / "shared" / "data"), "data.split=test", "data.download=false"]
FASHION = ["data.root=/usr/share/datasets/fashion-mnist"]
RECIPES = {
    "mnist_dcgan": MNIST, "mnist_lsgan": MNIST, "mnist_wgan_gp": MNIST, "mnist_hinge_sngan": MNIST,
    "mnist_cgan": MNIST, "mnist_acgan": MNIST, "fashion_mnist_dcgan": FASHION, "fashion_mnist_dcgan32": FASHION,
}


def gankit(*args) -> str:
    out = subprocess.run([sys.executable, "-m", "gankit", *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"gankit {' '.join(map(str, args))} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", default="/tmp/gankit-zoo")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    images = ROOT / "docs" / "images" / "recipes"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, data in RECIPES.items():
        if args.only and name not in args.only:
            continue
        run = Path(args.out) / name
        t0 = time.time()
        gankit("train", ROOT / "recipes" / f"{name}.yaml", *data, f"trainer.max_steps={args.steps}",
               "trainer.precision=bf16", "trainer.channels_last=true", "trainer.eval_every=null",
               f"trainer.sample_every={args.steps}", "trainer.num_grid=40", "--out", run, "--overwrite")
        wall = time.time() - t0
        ev = json.loads(gankit("eval", run, "--json"))
        agree, intra = ev.get("label_agreement"), ev.get("intra_fd")
        grid = grids(run)[-1]
        shutil.copy(grid, images / f"{name}.png")
        rows.append((name, args.steps, wall, ev["fd"], ev["modes"], agree, intra))
        print(json.dumps({"recipe": name, "steps": args.steps, "wall_s": round(wall, 1), "fd": ev["fd"],
                          "modes": ev["modes"], "classifier_score": ev["classifier_score"],
                          "label_agreement": agree, "intra_fd": intra}), flush=True)
    print("\n| recipe | G steps | wall-clock | FD | modes | label agreement | intra-FD | samples |")
    print("|---|---|---|---|---|---|---|---|")
    for name, steps, wall, fd, modes, agree, intra in rows:
        a = "—" if agree is None else f"{100 * agree:.1f} %"
        i = "—" if intra is None else f"{intra:.1f}"
        print(f"| `{name}` | {steps} | {wall / 60:.1f} min | {fd:.1f} | {modes:.0f}/10 | {a} | {i} | "
              f"![{name}](images/recipes/{name}.png) |")


if __name__ == "__main__":
    main()
