"""gankit reproduce RECIPE [KEY=VALUE ...] [--record NAME [--row LABEL]] [--run RUN_DIR] [--seed N] [--out RUN_DIR]
[--metric NAME] [--results DIR]"""
import time
from pathlib import Path

from accelerate import PartialState

from gankit.commands.train import train
from gankit.config import validate
from gankit.errors import GankitError
from gankit.experiments import records, reproduce
from gankit.experiments import runs as runs_mod
from gankit.store.files import check_path


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="train a recorded configuration again and check its final value against "
                                         "the record (mean ± 2 sd over its seeds)")
    p.add_argument("recipe", metavar="RECIPE", help="the recipe file a record's row measured, e.g. "
                                                    "recipes/mnist_dcgan.yaml")
    p.add_argument("overrides", nargs="*", help="key=value changes that keep the recipe's fingerprint, e.g. "
                                                "data.root=/mnt/data (a folder of the recorded name)")
    p.add_argument("--record", metavar="NAME", help="the record to test (results/NAME.json), where several "
                                                     "measure RECIPE")
    p.add_argument("--row", metavar="LABEL", help="the record's row to test, where several measure RECIPE")
    p.add_argument("--run", metavar="RUN_DIR", help="judge this finished run of the configuration instead of training")
    p.add_argument("--seed", type=int, help="the training seed (default: the row's first recorded seed)")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default: runs/reproduce-<record>-<time>)")
    p.add_argument("--metric", metavar="NAME", help="the metric to check (default: fd where the row has it, else "
                                                    "its first)")
    p.add_argument("--results", metavar="DIR", default=str(records.RESULTS_DIR),
                   help="the folder of records (default: results)")
    p.set_defaults(func=run)


def run(args) -> int:
    check_path(args.recipe, "reproduce")
    if args.run and (args.seed is not None or args.out):
        raise GankitError("--seed and --out say how to train; with --run nothing is trained: leave them out.")
    target = reproduce.find(args.recipe, args.results, args.record, args.row)
    metric = reproduce.metric(target, args.metric)
    overrides = reproduce.overrides(args.recipe, target, args.overrides)  # refused here, before any training
    if args.run:
        done = reproduce.check_run(Path(args.run), target)
        seconds = reproduce.run_time(done)
    else:
        seed = args.seed if args.seed is not None else next(iter(target.row.seeds), None)
        valid = validate.load(args.recipe, overrides + ([f"trainer.seed={seed}"] if seed is not None else []))
        out = args.out or Path("runs") / f"reproduce-{target.record.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        start = time.monotonic()
        summary = train(valid, out, name=f"reproduce-{target.record.name}")
        seconds = time.monotonic() - start
        if not PartialState().is_main_process:
            return 0
        print(f"run directory: {summary['run_dir']}")
        if summary.get("exit_code"):  # stopped by a signal: no final value to judge
            return summary["exit_code"]
        done = runs_mod.load(Path(summary["run_dir"]))
    ok, line = reproduce.verdict(done, target, metric, seconds)
    print(line)
    return 0 if ok else 1
