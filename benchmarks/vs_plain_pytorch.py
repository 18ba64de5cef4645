"""Side by side, in one process, alternating rounds A B C A B C ...:

A  a minimal hand-written PyTorch loop of the reference DCGAN, as a user writes it from the
   tutorial (DataLoader over an MNIST-style dataset, fp32, eager, fresh noise for the G step);
B  gankit's trainer on recipes/mnist_dcgan.yaml with the same settings (fp32, eager, standard layout);
C  gankit with its fast settings, the recipe's defaults on this CPU (bf16 autocast + channels_last).

Prints images/s per round and the median ratios B/A and C/A with min–max.
Usage: python benchmarks/vs_plain_pytorch.py [--rounds 8] [--steps 20] [--data ../shared/data] [--record NAME]

With --record NAME the figures are also written as the record results/NAME.json (docs/benchmarks.md).
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gankit.config import recipe  # noqa: E402
from gankit.data.mnist import mnist  # noqa: E402
from gankit.config.registry import DISCRIMINATORS, GENERATORS  # noqa: E402
from gankit.experiments import records  # noqa: E402
from gankit.training.trainer import Trainer  # noqa: E402

BATCH = 128

PROGRAM = "python benchmarks/vs_plain_pytorch.py"
DATA = ["data.split=test", "data.download=false"]
B = ["trainer.precision=no", "trainer.channels_last=false"]  # gankit with the hand-written loop's settings
C = ["trainer.precision=bf16", "trainer.channels_last=true"]  # and with the recipe's fast ones

class PlainLoop:
    """(A) The tutorial's loop, written by hand."""

    def __init__(self, images_u8: torch.Tensor):
        # what torchvision's MNIST + ToTensor + Normalize((0.5,), (0.5,)) hands the loop
        x = images_u8.float() / 255.0 * 2 - 1
        self.loader = DataLoader(TensorDataset(x), batch_size=BATCH, shuffle=True, drop_last=True)
        torch.manual_seed(0)
        self.G = GENERATORS.build({"name": "dcgan_mnist"}, "g", {"img_shape": (1, 28, 28)})
        self.D = DISCRIMINATORS.build({"name": "dcgan_mnist"}, "d", {"img_shape": (1, 28, 28)})
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=(0.5, 0.999))
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=(0.5, 0.999))
        self.it = iter(self.loader)

    def step(self):
        try:
            (real,) = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            (real,) = next(self.it)
        bce = F.binary_cross_entropy_with_logits
        self.d_opt.zero_grad()
        fake = self.G(torch.randn(BATCH, 96)).detach()
        lr, lf = self.D(real), self.D(fake)
        d_loss = bce(lr, torch.ones_like(lr)) + bce(lf, torch.zeros_like(lf))
        d_loss.backward()
        self.d_opt.step()
        self.g_opt.zero_grad()
        lg = self.D(self.G(torch.randn(BATCH, 96)))
        g_loss = bce(lg, torch.ones_like(lg))
        g_loss.backward()
        self.g_opt.step()


class GankitLoop:
    """(B, C) gankit's trainer: the iteration its fit() loop runs each step."""

    def __init__(self, data_root: str, overrides: list[str], tmp: str):
        cfg = recipe.load(ROOT / "recipes" / "mnist_dcgan.yaml", [f"data.root={data_root}", *DATA, *overrides])
        self.tr = Trainer(cfg, Path(tmp) / "run")
        self.window = torch.zeros(4)

    def step(self):
        self.window += torch.stack(list(self.tr.step().values()))  # the per-step bookkeeping fit() does
        self.tr.state.step += 1


def images_per_s(loop, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        loop.step()
    return steps * BATCH / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--record", metavar="NAME", help="also write the figures as the record results/NAME.json")
    args = ap.parse_args()
    if args.record:
        records.check_name(args.record)
    data = mnist(args.data, split="test", download=False)
    with tempfile.TemporaryDirectory() as tmp:
        loops = {
            "A plain": PlainLoop(data.images),
            "B gankit": GankitLoop(args.data, B, tmp + "/b"),
            "C gankit fast": GankitLoop(args.data, C, tmp + "/c"),
        }
        for loop in loops.values():
            images_per_s(loop, args.warmup)
        rates = {k: [] for k in loops}
        for r in range(args.rounds):
            for k, loop in loops.items():
                rates[k].append(images_per_s(loop, args.steps))
            print(f"round {r + 1}: " + "  ".join(f"{k} {v[-1]:.0f} img/s" for k, v in rates.items()), flush=True)
    a = rates["A plain"]
    if args.record:
        write_record(args, rates)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
          f"{args.rounds} rounds × {args.steps} steps")
    for k in list(loops)[1:]:
        ratios = [x / y for x, y in zip(rates[k], a)]
        print(f"{k[0]}/A = {statistics.median(ratios):.2f}  (min {min(ratios):.2f}, max {max(ratios):.2f}; "
              f"median {statistics.median(rates[k]):.0f} img/s vs {statistics.median(a):.0f})")


def write_record(args, rates: dict[str, list[float]]) -> None:
    """Each loop's images/s over the rounds and, for gankit's, its speed over the hand-written loop's, round by
    round: as rows of the record ``args.record``."""
    what = f"batch {BATCH}, {args.rounds} rounds of {args.steps} steps"
    a = rates["A plain"]
    rows = [records.measured("A: hand-written loop, fp32", {"img_per_s": records.over(a, f"img/s ({what})")},
                             precision="no")]
    for k, overrides, precision in (("B gankit", B, "no"), ("C gankit fast", C, "bf16")):
        values = {"img_per_s": records.over(rates[k], f"img/s ({what})"),
                  "vs_plain": records.over([x / y for x, y in zip(rates[k], a)], "× the hand-written loop, per round")}
        label = f"{k[0]}: gankit, " + " ".join(overrides)
        rows.append(records.measured(label, values, "recipes/mnist_dcgan.yaml", [*DATA, *overrides], precision,
                                     root=ROOT))
    print(f"record: {records.write(records.new(args.record, rows, sys.argv[1:], PROGRAM), ROOT / records.RESULTS_DIR)}")


if __name__ == "__main__":
    main()
