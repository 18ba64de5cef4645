"""gankit bench RECIPE [key=value ...] [--steps N] [--warmup W] [--json] [--record NAME]: time the training step."""
import json
import sys

from gankit.config import validate
from gankit.experiments import records
from gankit.experiments.record_tables import precision_name
from gankit.store import machine
from gankit.training import bench


def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="time a recipe's training step (no run is written)")
    b.add_argument("recipe")
    b.add_argument("overrides", nargs="*", help="key=value overrides")
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--json", action="store_true")
    b.add_argument("--record", metavar="NAME", help="also write the timings (steps/s and images/s over the timed "
                                                     "steps, peak memory) as the record results/NAME.json")
    b.set_defaults(func=run)


def run(args) -> int:
    valid = validate.load(args.recipe, args.overrides)  # every problem at once, and only once
    if args.record:
        records.check_name(args.record)
    result = bench.run(valid, steps=args.steps, warmup=args.warmup)
    if args.record:
        row = timings_row(result, records.RecipeRef(args.recipe, list(args.overrides),
                                                    records.file_fingerprint(args.recipe, args.overrides)))
        path = records.write(records.new(args.record, [row], args.argv))
        print(f"record: {path}", file=sys.stderr if args.json else sys.stdout)
    print(json.dumps(result, indent=1) if args.json else bench.format_table(result))
    return 0


def timings_row(r: dict, recipe: records.RecipeRef) -> records.Row:
    """A bench's result ``r`` as a record row: steps/s and images/s (mean and sd of the per-step rates over the
    timed steps), peak memory, each labelled with its precision and batch."""
    how = f"{precision_name(r['precision_resolved'])}, batch {r['batch_size']}"
    times = r["step_times_s"]
    values = {"steps_per_s": records.over([1 / t for t in times], f"steps/s ({how})"),
              "img_per_s": records.over([r["images_per_step"] / t for t in times], f"images/s ({how})"),
              "peak_mem_mib": records.Value(r["peak_memory_mib"], None, [r["peak_memory_mib"]],
                                            f"peak memory MiB ({r['peak_memory_kind']}, {how})")}
    label = " ".join([recipe.path, *recipe.overrides])
    return records.Row(label=label, recipe=recipe, values=values, machine=machine.describe(),
                       precision=r["precision_resolved"])
