"""gankit train RECIPE [key=value ...] [--out DIR] [--resume RUN_DIR] [--overwrite]"""
import os
from pathlib import Path

from accelerate import PartialState

from gankit.config import recipe, validate
from gankit.errors import GankitError
from gankit.runs.inference import run_source
from gankit.runs.report import write_views
from gankit.store.files import RECIPE_FILE
from gankit.training.accel import lost_process_error
from gankit.training.run import train as train_run

RESUME_TRUST_HELP = ("with --resume: run the plugin code the run names (a plugin file inside it, a module from the "
                     "working directory or the standard library); never a file outside it (docs/sharing.md)")


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a recipe (or resume a run)")
    t.add_argument("recipe", nargs="?", help="recipe YAML file")
    t.add_argument("overrides", nargs="*", help="key=value overrides, e.g. trainer.max_steps=100")
    t.add_argument("--out", help="run directory (default: runs/<recipe>-<time>)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    t.add_argument("--overwrite", action="store_true", help="train into an existing non-empty --out")
    t.add_argument("--trust-plugins", action="store_true", help=RESUME_TRUST_HELP)
    t.set_defaults(func=run)


def run(args) -> int:
    if args.resume and not args.recipe:
        valid, name = None, "run"  # the stored recipe: validated when the run reads it
    else:
        if not args.recipe:
            raise GankitError("train: give a recipe (gankit train recipes/mnist_dcgan.yaml) or --resume RUN_DIR.")
        # every problem at once, as `gankit check` reports them; a run's own recipe as a run's (plugin_trust.vet)
        own = args.resume and Path(args.recipe).resolve() == (Path(args.resume) / RECIPE_FILE).resolve()
        valid = validate.load(args.recipe, args.overrides,
                              source=run_source(Path(args.resume), args.trust_plugins) if own else None)
        name = Path(args.recipe).stem
    try:
        summary = train(valid, args.out, resume=args.resume, overwrite=args.overwrite, name=name,
                        trust_plugins=args.trust_plugins)
    except RuntimeError as e:  # a collective failed: another process died or hangs (ddp.timeout_s)
        cfg = valid.cfg if valid is not None else None
        run_dir = args.resume or args.out or f"{cfg.output.root}/{name}-<time> (the newest)"
        lost = lost_process_error(e, int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                                  (cfg or recipe.load(Path(args.resume) / RECIPE_FILE)).ddp.timeout_s, run_dir)
        if lost is None:
            raise
        raise lost from None
    if PartialState().is_main_process:
        print(f"run directory: {summary['run_dir']}")
    return summary.get("exit_code", 0)


def train(cfg, out: str | Path | None = None, *, resume: str | Path | None = None, overwrite: bool = False,
          recipe_dir=None, name: str = "run", trust_plugins: bool = False) -> dict:
    """Train a recipe (``gankit.training.run.train``), then draw the run on the main process: its
    curves.png and report.html (a failure there only warns). What ``gankit train`` and ``gankit.train`` run.

    ``recipe_dir``: where the recipe's relative plugin files are; default the folder ``gankit.load_recipe``
    read it from (``gankit.config.recipe.folder_of``)."""
    summary = train_run(cfg, out, resume=resume, overwrite=overwrite, recipe_dir=recipe_dir, name=name,
                        trust_plugins=trust_plugins)
    if PartialState().is_main_process:
        write_views(summary["run_dir"])  # curves.png and report.html
    return summary
