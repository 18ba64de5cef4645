"""Train MNIST-family recipes to their budgets on several seeds and measure them: docs/results.md.

For each recipe and seed: `gankit train` in fp32 (the precision every CPU runs natively) with
evaluations along the way (the FD-versus-images-seen curve), then `gankit eval` of the final
generator (the EMA when the recipe keeps one) on 10k samples: FD, KID, classifier score, mode
coverage, for conditional recipes label agreement and intra-FD, and the memorisation check
where the run has held-out images (Fashion-MNIST's test split; `data.holdout` for MNIST here).
Writes the last sample grid of each recipe and one FD-curve figure (seed bands) under
docs/images/results/, every measurement to OUT/results.jsonl, and prints the Markdown tables.

Usage: python benchmarks/results_table.py [--only mnist_dcgan ...] [--seeds 0 1 2] [--out /tmp/results]
       python benchmarks/results_table.py --table-only    # tables and figure from OUT/results.jsonl
       python benchmarks/results_table.py --table-only --sweep mnist_dcgan_r1=sweeps/r1 ...
           # rows (curve, last evaluation, last grid) from the seeds of a `gankit sweep` instead
"""
import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import yaml
from zoo_table import FASHION, MNIST, ROOT, gankit

from gankit.store.files import RECIPE_FILE
from gankit.store.grids import grids
from gankit.store.metrics import read_metrics

# recipe: (data overrides, steps, extra overrides). Steps: where FD stopped improving in a first run,
# or about 20 minutes on a 2-core CPU in fp32, whichever came first (docs/results.md says which).
BUDGETS = {
    "mnist_dcgan": (MNIST, 780, []),
    "mnist_dcgan_r1": (MNIST, 2340, []),
    "mnist_lsgan": (MNIST, 3900, []),  # FD lowest at 2,600 (218.1), rising after; 10.9 min on 2 threads
    "mnist_wgan_gp": (MNIST, 300, []),  # 20 minutes: 3.5 s a step on one thread of a 2-core AMD EPYC (AVX2)
    "mnist_hinge_sngan": (MNIST, 130, []),  # 20 minutes: 8.1 s a step there
    "mnist_cgan": (MNIST, 1560, []),
    "mnist_acgan": (MNIST, 1560, []),
    "mnist_r3gan": (MNIST, 4800, []),  # 20 minutes: 0.24 s a step (batch 32) on one thread there
    "mnist_r3gan_cond": (MNIST, 1300, []),  # its own networks and batch 64: 0.76 s a step beside another run
    "fashion_mnist_dcgan": (FASHION, 1560, []),  # 0.66 s a step there: 17 minutes
    "fashion_mnist_dcgan32": (FASHION, 800, []),  # 20 minutes: 1.36 s a step there
    "fashion_mnist_r3gan": (FASHION, 4800, []),  # as mnist_r3gan (the same networks)
    "mnist_stylegan2_ada": (MNIST, 3000, []),  # 20-22.5 minutes on one thread there
    "fashion_mnist_stylegan2_ada": (FASHION, 3000, []),
}
CONDITIONAL = {"cgan", "acgan", "cond"}  # the last word of a class-conditional recipe's name
CURVE_POINTS = 6  # evaluations per run (5k samples each), besides the final 10k one
IMAGES = ROOT / "docs" / "images" / "results"


def train_and_eval(name: str, seed: int, out: Path) -> dict:
    data, steps, extra = BUDGETS[name]
    run = out / f"{name}-s{seed}"
    every = max(1, steps // CURVE_POINTS)
    t0 = time.time()
    gankit("train", ROOT / "recipes" / f"{name}.yaml", *data, *extra, f"trainer.max_steps={steps}",
           f"trainer.seed={seed}", "trainer.precision=no", f"trainer.eval_every={every}", "eval.num_samples=5000",
           f"trainer.sample_every={steps}", f"trainer.checkpoint_every={steps}", "trainer.num_grid=40",
           "--out", run, "--overwrite")
    return evaluate(name, seed, run, time.time() - t0)


def evaluate(name: str, seed: int, run: Path, wall: float) -> dict:
    """The final generator of a finished run on 10k samples, and its FD curve."""
    data, steps, _ = BUDGETS[name]
    metrics = ["fd", "kid", "classifier_score", "mode_coverage"]
    if name.rsplit("_", 1)[-1] in CONDITIONAL:  # not name.endswith("cgan"): fashion_mnist_dcgan is not one
        metrics += ["label_agreement", "intra_fd"]
    if data is FASHION:  # its test split holds real images training never saw
        metrics.append("memorisation")
    ev = json.loads(gankit("eval", run, "--json", "--num-samples", "10000", "--metrics", ",".join(metrics)))
    curve = [(r["step"], r["eval/fd"]) for r in read_metrics(run / "metrics.jsonl").evals if "eval/fd" in r]
    batch = yaml.safe_load((run / RECIPE_FILE).read_text())["trainer"]["batch_size"]
    return {"recipe": name, "seed": seed, "steps": steps, "batch": batch, "wall_s": round(wall, 1), "run": str(run),
            "curve": curve, **ev}


def rows_from_sweep(name: str, sweep: Path) -> list[dict]:
    """A row per finished seed of a `gankit sweep` folder (evaluated at its last step): its FD curve
    and its last evaluation."""
    from gankit.experiments import runs

    rows = []
    for run in runs.find([str(sweep)])[0]:
        evals = [r for r in run.evals if "eval/fd" in r]
        if evals and evals[-1]["step"] == run.recipe["trainer"]["max_steps"]:
            last = {k.removeprefix("eval/"): v for k, v in evals[-1].items() if k.startswith("eval/")}
            rows.append({"recipe": name, "seed": run.seed, "steps": evals[-1]["step"], "run": str(run.path),
                         "batch": run.recipe["trainer"]["batch_size"],
                         "curve": [(r["step"], r["eval/fd"]) for r in evals], **last})
    return rows


def mean_sd(values: list[float], fmt: str = "{:.1f}") -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def table(rows: list[dict]) -> str:
    by = {}
    for r in rows:
        by.setdefault(r["recipe"], []).append(r)
    lines = ["| recipe | steps | minutes | seeds | FD | KID | classifier score | modes / KL | "
             "label agreement | intra-FD | samples |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, rs in by.items():
        col = lambda k: [r[k] for r in rs if r.get(k) is not None]  # noqa: E731
        agree = col("label_agreement")
        intra = col("intra_fd")
        minutes = mean_sd([w / 60 for w in col("wall_s")]) if col("wall_s") else "—"  # a sweep's rows: not timed
        lines.append(
            f"| `{name}` | {rs[0]['steps']} | {minutes} | "
            f"{'/'.join(str(r['seed']) for r in rs)} | {mean_sd(col('fd'))} | "
            f"{mean_sd(col('kid')) if col('kid') else '—'} | {mean_sd(col('classifier_score'), '{:.2f}')} | "
            f"{mean_sd(col('modes'), '{:.0f}')} / {mean_sd(col('modes_kl'), '{:.3f}')} | "
            f"{mean_sd([100 * a for a in agree]) + ' %' if agree else '—'} | {mean_sd(intra) if intra else '—'} | "
            f"![{name}](images/results/{name}.png) |")
    return "\n".join(lines)


def draw_curves(rows: list[dict], path: Path, samples: str = "5k") -> None:
    """FD versus images seen, one line per recipe: the seed mean with a min–max band."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5), dpi=100)
    ax = fig.subplots()
    by = {}
    for r in rows:
        by.setdefault(r["recipe"], []).append(r)
    for name, rs in by.items():
        steps = sorted(set.intersection(*(set(s for s, _ in r["curve"]) for r in rs)))
        fds = [[dict(r["curve"])[s] for r in rs] for s in steps]
        kimg = [s * rs[0].get("batch", 128) / 1000 for s in steps]  # rows logged before the field: 128
        line, = ax.plot(kimg, [statistics.mean(f) for f in fds], marker="o", markersize=3, label=name)
        if len(rs) > 1:
            ax.fill_between(kimg, [min(f) for f in fds], [max(f) for f in fds], alpha=0.2, color=line.get_color())
    ax.set(xlabel="thousands of real images seen", ylabel=f"FD ({samples} samples, lenet features)", yscale="log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, format="png")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=sorted(BUDGETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--out", default="/tmp/gankit-results")
    ap.add_argument("--sweep", nargs="*", default=[], metavar="RECIPE=DIR",
                    help="take RECIPE's rows from the seeds of this sweep folder (with --table-only)")
    ap.add_argument("--curve-samples", default="5k", help="samples per evaluation along the curves, for the label")
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    IMAGES.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        for name in args.only or BUDGETS:
            for seed in args.seeds:
                row = train_and_eval(name, seed, out)
                with log.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
                if seed == args.seeds[0]:
                    shutil.copy(grids(row["run"])[-1], IMAGES / f"{name}.png")
    lines = log.read_text().splitlines() if log.is_file() else []
    rows = {(r["recipe"], r["seed"]): r for r in map(json.loads, lines)}  # latest wins
    for spec in args.sweep:
        name, _, folder = spec.partition("=")
        found = rows_from_sweep(name, Path(folder))
        rows = {k: r for k, r in rows.items() if k[0] != name} | {(name, r["seed"]): r for r in found}
        shutil.copy(grids(found[0]["run"])[-1], IMAGES / f"{name}.png")
    rows = list(rows.values())
    if not args.only or args.table_only:  # a partial run would redraw the page's figure with its rows alone
        draw_curves(rows, IMAGES / "fd_curves.png", args.curve_samples)
    print(table(rows))


if __name__ == "__main__":
    main()
