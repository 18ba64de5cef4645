"""gankit check RECIPE [key=value ...] [--steps N]: validate a recipe without training."""
from gankit.errors import printable
from gankit.training.check import check


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="validate a recipe (components, data, shapes, timing) without training")
    c.add_argument("recipe", help="recipe YAML file")
    c.add_argument("overrides", nargs="*", help="key=value overrides, e.g. trainer.batch_size=64")
    c.add_argument("--steps", type=int, default=3,
                   help="training steps to time for the per-epoch estimate (0: skip timing; default 3)")
    c.set_defaults(func=run)


def run(args) -> int:
    report = check(args.recipe, args.overrides, timed_steps=max(0, args.steps))
    print(printable(report.render()))
    return 0
