"""gankit resume RUN_DIR [key=value ...]: continue a run from its latest checkpoint."""
from pathlib import Path

from gankit.commands import train
from gankit.errors import GankitError
from gankit.store.files import RECIPE_FILE, check_path


def add_parser(sub) -> None:
    r = sub.add_parser("resume", help="continue a run from its latest checkpoint")
    r.add_argument("resume", metavar="RUN_DIR")
    r.add_argument("overrides", nargs="*", help="key=value changes allowed on resume (e.g. trainer.max_steps=2000)")
    r.add_argument("--trust-plugins", action="store_true", help=train.RESUME_TRUST_HELP)
    r.set_defaults(func=run)


def run(args) -> int:
    check_path(args.resume, "RUN_DIR")
    if not Path(args.resume).is_dir():
        raise GankitError(f"--resume: {args.resume} does not exist. Give the folder of an earlier run (it holds {RECIPE_FILE}).")
    args.recipe = str(Path(args.resume) / RECIPE_FILE) if args.overrides else None
    if args.recipe and not Path(args.recipe).is_file():
        raise GankitError(f"resume: {args.resume} is not a gankit run (no {RECIPE_FILE}).")
    args.out, args.overwrite = None, False
    return train.run(args)
