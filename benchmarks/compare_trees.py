"""Step time of two source trees of gankit side by side, in alternating rounds.

    python benchmarks/compare_trees.py OLD_TREE NEW_TREE [--rounds 40] [--steps 10] [key=value ...]

Each tree gets a worker process that builds the reference recipe's trainer once (MNIST test split
from ../shared/data unless data.root=... is given) and runs ``--steps`` training steps whenever it
is asked; the driver asks the two in turn (the order flips each round), so both see the same
machine load. Prints the median ms per step of each and the per-round ratio OLD/NEW (≥ 1: NEW is
no slower). Make OLD_TREE with ``git worktree add /tmp/old <commit>``.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(overrides: list[str]) -> None:
    import torch

    from gankit.config import recipe
    from gankit.training.trainer import Trainer

    data = [f"data.root={ROOT.parent / 'shared' / 'data'}", "data.split=test", "data.download=false"]
    cfg = recipe.load(Path.cwd() / "recipes" / "mnist_dcgan.yaml", [*data, *overrides])
    tr = Trainer(cfg, Path(tempfile.mkdtemp()) / "run")
    step = getattr(tr, "step", None) or tr.iteration  # (older trees called it iteration)

    def block(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            out = step()
            tr.state.step += 1
        values = list(out.values()) if isinstance(out, dict) else [out]
        torch.stack([v.float().sum() for v in values]).sum().item()  # the device's work is done
        return (time.perf_counter() - t0) / n

    block(10)
    print("ready", flush=True)
    for line in sys.stdin:
        print(f"{block(int(line)) * 1e3:.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    procs = {}
    for name, tree in (("old", args.old), ("new", args.new)):
        tree = str(Path(tree).resolve())
        procs[name] = subprocess.Popen(
            [sys.executable, __file__, "--worker", *args.overrides], cwd=tree, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": tree, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")})
    for name, p in procs.items():
        if p.stdout.readline().strip() != "ready":
            sys.exit(f"the {name} tree's worker did not start")
    times = {name: [] for name in procs}
    for r in range(args.rounds):
        for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
            procs[name].stdin.write(f"{args.steps}\n")
            procs[name].stdin.flush()
            times[name].append(float(procs[name].stdout.readline()))
    for p in procs.values():
        p.stdin.close()
        p.wait()
    ratios = [o / n for o, n in zip(times["old"], times["new"])]
    for name, v in times.items():
        print(f"{name}: median {statistics.median(v):.2f} ms/step (min {min(v):.2f}) over {args.rounds} rounds "
              f"of {args.steps} steps")
    q1, q2, q3 = statistics.quantiles(ratios, n=4)
    print(f"ratio old/new per round: median {q2:.3f} (quartiles {q1:.3f}–{q3:.3f})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2:])
    else:
        main()
