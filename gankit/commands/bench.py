"""gankit bench RECIPE [key=value ...] [--steps N] [--warmup W] [--json]: time the training step."""
import json

from gankit.config import validate
from gankit.training import bench


def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="time a recipe's training step (no run is written)")
    b.add_argument("recipe")
    b.add_argument("overrides", nargs="*", help="key=value overrides")
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=run)


def run(args) -> int:
    valid = validate.load(args.recipe, args.overrides)  # every problem at once, and only once
    result = bench.run(valid, steps=args.steps, warmup=args.warmup)
    print(json.dumps(result, indent=1) if args.json else bench.format_table(result))
    return 0
