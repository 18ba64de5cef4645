#!/usr/bin/env python
"""Check a lent GPU: every GPU recipe in fp32/bf16/fp16, eager and compiled, beside a hand-written loop, in 8 minutes.

Run from a checkout after ``pip install -e .``::

    python scripts/gpu_check.py --json results/gpu_check.json     # the whole check, about 8 minutes
    python scripts/gpu_check.py --quick                            # about 2 minutes
    python scripts/gpu_check.py --recipes cifar10_r3gan --precisions bf16,fp16 --no-compile
    python scripts/gpu_check.py --device cpu --tiny --quick        # a self-check of the script on a CPU

Recipes: CIFAR-10 R3GAN, StyleGAN2-ADA and SNGAN (32×32, labels where conditional), CelebA 64×64
DCGAN and StyleGAN2-ADA, each on synthetic data of its shape (``gpu_check_recipes``), with the
recipe's networks, batch, loss, penalties and optimizer, and augmentation off (the hand loop does
not replicate ADA; the JSON says so). Each combination (recipe × precision × eager/``trainer.compile``)
runs in its own process with its own timeout (``gpu_check_run``): gankit's trainer and the hand loop
(``gpu_check_hand``) are built, warmed up and timed in alternating rounds in that process, CUDA
synchronized around each round. For each side: images/s, peak allocated GPU memory (reset before
timing), whether any loss was non-finite; their ratio gankit / hand (the framework's overhead); under
fp16 the skipped steps (the trainer's guard; the hand loop's scaler) and the loss scale per step.

The planner prints the plan first: which combinations fit the budget (estimated start-up and compile
seconds each; the rest are listed as not planned) and the timed seconds each gets; at run time what a
combination leaves unused goes to the next ones. The JSON (``--json FILE``) is rewritten after every
combination, so a run cut short still leaves its results. The exit status is 1 when a combination
failed or gave a non-finite loss. Without a CUDA GPU (and without ``--device cpu``) it says so and exits 0.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from gpu_check_recipes import PRECISIONS, RECIPES, batch_of

ROOT = Path(__file__).resolve().parents[1]
MODES = ("eager", "compile")
# the order combinations run in: what matters most first (the recipes train in bf16; fp16 is the fallback)
ORDER = [("eager", "bf16"), ("eager", "fp16"), ("eager", "fp32"), ("compile", "bf16"), ("compile", "fp16"),
         ("compile", "fp32")]
TIMED_GPU, TIMED_CPU = (6.0, 12.0), (2.0, 12.0)  # timed seconds per combination (both loops): least, most


def plan(combos: list, budget: float, start_s: float, compile_s: float, timed: tuple) -> tuple[list, list]:
    """(planned, left out): each planned combination with its estimated fixed seconds and timed seconds.
    Combinations are taken in order while their fixed cost and the minimum timed seconds fit the budget."""
    lo, hi = timed
    kept, left, used = [], [], 0.0
    for c in combos:
        fixed = start_s + (compile_s if c[2] == "compile" else 0.0)
        if used + fixed + lo <= budget:
            kept.append({"combo": c, "fixed_s": fixed})
            used += fixed + lo
        else:
            left.append(c)
    share = min(hi, lo + (budget - used) / len(kept)) if kept else 0.0
    for k in kept:
        k["timed_s"] = round(share, 1)
    return kept, left


def name(c) -> str:
    return ":".join(c)


def run_one(c, args, timed_s: float, timeout: float) -> dict:
    """One combination in a child process (its own session: a timeout kills it and any compile workers)."""
    cmd = [sys.executable, __file__, "--one", name(c), "--seconds", str(timed_s), "--warmup", str(args.warmup),
           "--max-steps", str(args.max_steps), "--device", args.device] + (["--tiny"] if args.tiny else []) + \
        (["--batch-size", str(args.batch_size)] if args.batch_size else [])
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "scripts"), os.environ.get("PYTHONPATH")) if p)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"recipe": c[0], "precision": c[1], "mode": c[2], "wall_s": round(time.perf_counter() - t0, 1),
                "error": f"timed out after {timeout:.0f} s (its estimate, or the budget left; the rest go on)"}
    wall = round(time.perf_counter() - t0, 1)
    line = next((ln for ln in out.splitlines() if ln.startswith("GPU_CHECK_RESULT ")), None)
    if line is None:
        tail = (err or out).strip().splitlines()[-5:]
        return {"recipe": c[0], "precision": c[1], "mode": c[2], "wall_s": wall,
                "error": " | ".join(tail) or f"exit {proc.returncode}"}
    return {**json.loads(line.split(" ", 1)[1]), "wall_s": wall, "timed_s_planned": timed_s}


def failed(r: dict) -> bool:
    """An error or a non-finite loss (a combination the budget left no time for has not failed)."""
    if "not_run" in r:
        return False
    if "error" in r:
        return True
    sides = [r.get(s, {}) for s in ("gankit", "hand")]
    return any("error" in s or not s.get("finite", False) for s in sides)


def write(path, report: dict) -> None:
    if path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(p)  # whole or not at all: a run killed mid-write leaves the previous version


def row(r: dict) -> str:
    head = f"{r['recipe']:<23} {r['precision']:<5} {r['mode']:<8}"
    if "error" in r or "not_run" in r:
        return f"{head} FAILED: {r['error'][:160]}" if "error" in r else f"{head} not run: {r['not_run']}"
    g, h = r.get("gankit", {}), r.get("hand", {})

    def cell(s, key, fmt):
        return "err" if "error" in s else (fmt.format(s[key]) if s.get(key) is not None else "-")

    fp16 = g.get("fp16", {}).get("skipped_steps", "")
    return (f"{head} {cell(g, 'images_per_s', '{:.1f}'):>9} {cell(h, 'images_per_s', '{:.1f}'):>9} "
            f"{r.get('ratio_gankit_over_hand', '-'):>6} {cell(g, 'peak_memory_mib', '{:.0f}'):>8} "
            f"{cell(h, 'peak_memory_mib', '{:.0f}'):>8} {str(g.get('finite', '-')):>6}/{str(h.get('finite', '-')):<6} "
            f"{fp16!s:>7}") + "".join(f"\n    {k}: {s['error'][:200]}" for k, s in (("gankit", g), ("hand", h))
                                      if "error" in s)


def machine() -> dict:
    """What the figures were measured on and with: the GPU, torch and CUDA, the commit, the date."""
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT).stdout
    except OSError:  # no git on this machine
        git, dirty = None, ""
    return {"gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "torch": torch.__version__, "cuda": torch.version.cuda, "cpus": os.cpu_count(),
            "commit": git.stdout.strip() + (" (uncommitted changes)" if dirty.strip() else "")
            if git is not None and not git.returncode else None,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", metavar="FILE", help="write the results to FILE (rewritten after each combination)")
    p.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, from: {', '.join(RECIPES)}")
    p.add_argument("--precisions", default="fp32,bf16,fp16")
    p.add_argument("--no-compile", action="store_true", help="eager only (no trainer.compile=true runs)")
    p.add_argument("--quick", action="store_true", help="a 2-minute budget instead of 8")
    p.add_argument("--budget", type=float, help="seconds for the whole check (default 480; --quick: 120)")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                   help="cpu: a self-check of the script (fp32 and bf16, eager; use --tiny)")
    p.add_argument("--tiny", action="store_true", help="shrink every network to a few channels and the batch to 8")
    p.add_argument("--batch-size", type=int, help="global batch for every recipe (default: each recipe's)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per side first (compiling included)")
    p.add_argument("--max-steps", type=int, default=400, help="at most this many timed steps per side")
    p.add_argument("--start-s", type=float, default=12.0,
                   help="planner's estimate: seconds to start a combination's process, build and warm up (eager)")
    p.add_argument("--compile-s", type=float, default=60.0,
                   help="planner's estimate: seconds torch.compile adds to a combination (both loops)")
    p.add_argument("--plan", action="store_true", help="print the plan and exit (no GPU needed)")
    p.add_argument("--one", help=argparse.SUPPRESS)  # child: RECIPE:PRECISION:MODE, JSON on stdout
    p.add_argument("--seconds", type=float, default=8.0, help=argparse.SUPPRESS)  # child: timed seconds, both sides
    args = p.parse_args(argv)
    args.budget = args.budget or (120.0 if args.quick else 480.0)
    return p, args


def combos_of(p, args) -> list:
    recipes = [s.strip() for s in args.recipes.split(",") if s.strip()]
    precisions = [s.strip() for s in args.precisions.split(",") if s.strip()]
    for what, got, known in (("--recipes", recipes, RECIPES), ("--precisions", precisions, PRECISIONS)):
        unknown = [s for s in got if s not in known]
        if unknown:
            p.error(f"{what}: unknown {unknown}; choose from {list(known)}")
    if args.device == "cpu":
        if "fp16" in precisions:
            print("gpu_check: --device cpu: no fp16 (gankit refuses fp16 on a CPU); "
                  "no torch.compile (minutes on a CPU).")
        precisions, args.no_compile = [s for s in precisions if s != "fp16"], True
    elif "bf16" in precisions and torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        print("gpu_check: this GPU has no bf16 support; skipping bf16.")
        precisions.remove("bf16")
    modes = ("eager",) if args.no_compile else MODES
    combos = [(r, prec, mode) for mode, prec in ORDER if mode in modes and prec in precisions for r in recipes]
    if not combos:
        p.error(f"nothing to run on {args.device} with --recipes {args.recipes} --precisions {args.precisions}")
    return combos


def execute(kept: list, left: list, args, report: dict, start: float) -> None:
    """Run the planned combinations in order, each with the timed seconds the budget still allows (what earlier
    ones left unused goes to later ones); then, while the budget lasts, those the plan left out."""
    lo, hi = TIMED_CPU if args.device == "cpu" else TIMED_GPU
    measured: dict = {}  # mode → fixed seconds measured so far (a combination's wall time less its timed part)

    def fixed_of(c) -> float:
        """A combination's start-up (and compile) seconds: the most measured for its mode, else the estimate."""
        return max(measured.get(c[2], [args.start_s + (args.compile_s if c[2] == "compile" else 0.0)]))

    queue = [(c, False) for c in (k["combo"] for k in kept)] + [(c, True) for c in left]
    for i, (c, extra) in enumerate(queue):
        remaining = args.budget - (time.perf_counter() - start)
        rest = [x for x, later in queue[i:] if not later] or [c]
        timed = max(lo, min(hi, (remaining - sum(fixed_of(x) for x in rest)) / len(rest)))
        if remaining < fixed_of(c) + timed:
            if extra:
                continue  # not planned and no time for it: stays under not_planned
            result = {"recipe": c[0], "precision": c[1], "mode": c[2],
                      "not_run": f"{remaining:.0f} s of the budget left"}
        else:
            timeout = min(remaining - 2, 2 * fixed_of(c) + 2 * timed + 30)
            result = run_one(c, args, round(timed, 1), timeout)
            if "wall_s" in result and "error" not in result:
                measured.setdefault(c[2], []).append(result["wall_s"] - timed)
            if extra:
                report["not_planned"].remove(name(c))
        report["results"].append(result)
        print(row(result), flush=True)
        write(args.json, report)


def main(argv=None) -> int:
    p, args = parse(argv)
    if args.one:
        from gpu_check_run import main as child  # the trainer's imports: in the child only

        return child(args)
    if args.device == "cuda" and not torch.cuda.is_available() and not args.plan:
        print("gpu_check: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to check. "
              "(--device cpu --tiny checks the script itself; --plan prints the plan.)")
        return 0
    combos = combos_of(p, args)
    start = time.perf_counter()
    kept, left = plan(combos, args.budget - 5, args.start_s, args.compile_s,
                      TIMED_CPU if args.device == "cpu" else TIMED_GPU)
    batches = {r: batch_of(r, args.tiny, args.batch_size) for r in {c[0] for c in combos}}
    print(f"gpu_check plan: {len(kept)} of {len(combos)} combinations in a {args.budget:.0f} s budget "
          f"(estimates: {args.start_s:.0f} s to start one, +{args.compile_s:.0f} s to compile)")
    for k in kept:
        b, d = batches[k["combo"][0]]
        print(f"  {name(k['combo']):<40} batch {b:>4} × {d} D steps  ~{k['fixed_s']:.0f} s start"
              f" + {k['timed_s']:.1f} s timed (gankit and hand, {args.warmup} warm-up steps each)")
    for c in left:
        print(f"  {name(c):<40} not planned: run at the end if the budget allows (or --recipes/--budget)")
    if args.plan:
        return 0
    report = {"ok": None, "finished": False, "machine": machine(), "command": " ".join([Path(sys.argv[0]).name,
              *sys.argv[1:]]), "budget_s": args.budget, "tiny": args.tiny, "device": args.device,
              "plan": [{"combo": name(k["combo"]), **{x: k[x] for x in ("fixed_s", "timed_s")}} for k in kept],
              "not_planned": [name(c) for c in left], "results": []}
    write(args.json, report)
    execute(kept, left, args, report, start)
    results = report["results"]
    report["ok"] = bool(results) and not any(failed(r) for r in results)
    report["finished"], report["wall_s"] = True, round(time.perf_counter() - start, 1)
    write(args.json, report)
    print(f"\n{'recipe':<23} {'prec':<5} {'mode':<8} {'gankit/s':>9} {'hand/s':>9} {'ratio':>6} "
          f"{'gk MiB':>8} {'hand MiB':>8} {'finite':>13} {'skipped':>7}")
    for r in results:
        print(row(r))
    print(f"\nimages/s after warm-up (augmentation off in both); ratio = gankit / hand; MiB = peak allocated; "
          f"skipped = fp16 steps the trainer's guard skipped. Wall time {report['wall_s']:.0f} s.")
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
