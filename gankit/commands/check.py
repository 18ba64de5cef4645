"""gankit check RECIPE [key=value ...] [--steps N] [--print]: validate a recipe without training."""
import sys

from gankit.config import validate
from gankit.errors import printable
from gankit.training.check import check
from gankit.training.run import stored_text


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="validate a recipe (components, data, shapes, timing) without training")
    c.add_argument("recipe", help="recipe YAML file")
    c.add_argument("overrides", nargs="*", help="key=value overrides, e.g. trainer.batch_size=64")
    c.add_argument("--steps", type=int, default=3,
                   help="training steps to time for the per-epoch estimate (0: skip timing; default 3)")
    c.add_argument("--print", action="store_true",
                   help="print the resolved recipe (YAML, as training stores it in recipe.yaml) and stop")
    c.set_defaults(func=run)


def run(args) -> int:
    if args.print:
        sys.stdout.write(printable(stored_text(validate.load(args.recipe, args.overrides).cfg)))
        return 0
    report = check(args.recipe, args.overrides, timed_steps=max(0, args.steps))
    print(printable(report.render()))
    return 0
