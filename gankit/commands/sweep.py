"""gankit sweep RECIPE SPACE.yaml [--out SWEEP_DIR] [--storage URL] [--launcher "..."] [key=value ...]
gankit sweep --join STUDY_URL [--study NAME] [--out SWEEP_DIR] · gankit sweep --resume SWEEP_DIR
(any of them: [--record NAME [--recipe PATH [KEY=VALUE ...]]])"""
import os
import shlex
from pathlib import Path

from gankit.errors import GankitError
from gankit.experiments import compare, record_runs, records, runs, sweep


def add_parser(sub) -> None:
    s = sub.add_parser("sweep", help="run a sweep of many runs on an Optuna study (or join / resume one)")
    s.add_argument("recipe", nargs="?", help="recipe YAML file")
    s.add_argument("space", nargs="?", help="SPACE.yaml: the keys to search, seeds, sampler, objective")
    s.add_argument("overrides", nargs="*", help="key=value overrides of the recipe, for every trial")
    s.add_argument("--out", metavar="SWEEP_DIR", help="sweep folder (default: sweeps/<recipe>-<time>)")
    s.add_argument("--storage", metavar="URL", help="Optuna storage URL (default: sqlite:///SWEEP_DIR/study.db)")
    s.add_argument("--launcher", default="", help='runs each trial under it, e.g. "accelerate launch --num_processes 2"')
    s.add_argument("--join", metavar="STUDY_URL", help="work on an existing sweep's study (another worker)")
    s.add_argument("--study", metavar="NAME", help="with --join: the study's name, where the storage holds several")
    s.add_argument("--resume", metavar="SWEEP_DIR", help="continue a sweep folder (queues interrupted trials again)")
    s.add_argument("--record", metavar="NAME", help="once the sweep is done, write each configuration's final values, "
                                                     "curves and grids as the record results/NAME.json (as gankit compare "
                                                     "SWEEP_DIR --record NAME would)")
    s.add_argument("--recipe", nargs="+", metavar="PATH [KEY=VALUE]", dest="record_recipe",
                   help=records.RECIPE_HELP + "; default: the sweep's recipe and overrides")
    s.set_defaults(func=run)


def run(args) -> int:
    launcher = shlex.split(args.launcher)
    if args.record_recipe and not args.record:
        raise GankitError("--recipe names the recipe of a record: give --record NAME with it.")
    if args.record:
        records.check_name(args.record)  # before hours of training, not after
    modes = [m for m in ("join", "resume") if getattr(args, m)]
    if len(modes) > 1 or (modes and (args.recipe or args.space)):
        raise GankitError("sweep: give RECIPE SPACE.yaml (a new sweep), --join STUDY_URL or --resume SWEEP_DIR; "
                          "only one of them.")
    if args.overrides and (args.join or args.resume):
        raise GankitError("sweep: overrides belong to the sweep (stored in its study); a joining worker takes none.")
    if args.join:
        study, info = sweep.join(args.join, args.study, args.out, launcher)
    elif args.resume:
        if args.out:
            raise GankitError("sweep: --resume SWEEP_DIR continues that folder; drop --out.")
        study, info = sweep.resume(args.resume, launcher)
    else:
        if not (args.recipe and args.space):
            raise GankitError("sweep: give a recipe and a space file (gankit sweep recipes/mnist_dcgan.yaml "
                              "space.yaml), --join STUDY_URL or --resume SWEEP_DIR.")
        study, info = sweep.start(args.recipe, args.space, args.out, args.storage, args.overrides, launcher)
        print(f"sweep folder: {info['sweep_dir']}")
    done = sweep.work(study, info)
    print(f"sweep {study.study_name}: " + ", ".join(f"{n} {s.lower()}" for s, n in sorted(done.items())))
    print(f"compare: gankit compare {info['sweep_dir']}")
    if args.record:
        record(args, info, done)
    return 0


def record(args, info: dict, done: dict) -> None:
    """The record of a finished sweep, as ``gankit compare SWEEP_DIR --record NAME --recipe ...`` writes it; the
    recipe defaults to the sweep's own file (relative to this folder where it lies under it) and overrides."""
    from optuna.trial import TrialState

    if done.get(TrialState.RUNNING.name) or done.get(TrialState.WAITING.name):
        print(f"record: not written; other workers still run trials of this sweep. Once they are done: gankit "
              f"compare {info['sweep_dir']} --record {args.record}")
        return
    given = args.record_recipe or [_relative(info["recipe"]), *info["overrides"]]
    found, sweeps = runs.find([info["sweep_dir"]])
    data = compare.table(found, sweeps)
    path = record_runs.write_compared(args.record, data, found, given, args.argv)
    left_out = sum(n for s, n in done.items() if s != TrialState.COMPLETE.name)
    print(f"record: {path}" + (f" ({left_out} failed or pruned trial(s) left out; it counts the "
                               f"{done.get(TrialState.COMPLETE.name, 0)} completed)" if left_out else ""))


def _relative(path: str) -> str:
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else str(Path(path))
