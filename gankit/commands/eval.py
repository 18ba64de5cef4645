"""gankit eval RUN_DIR_OR_CHECKPOINT [key=value ...] [--metrics fd,kid] [--num-samples N] [--floor] [--json]
[--record NAME [--recipe PATH]]"""
import json

from gankit.config import recipe
from gankit.data.build import build_data
from gankit.errors import GankitError, printable
from gankit.experiments import records
from gankit.experiments import runs as runs_mod
from gankit.models.base import is_conditional
from gankit.metrics.evaluation import CONDITIONAL_METRICS, DEFAULT_METRICS, Evaluator, spread
from gankit.runs.inference import (DEVICE_HELP, TRUST_PLUGINS_HELP, load_generator, resolve_checkpoint, resolve_device,
                                   valid_run_recipe)
from gankit.runs.pages import floor_text
from gankit.store import machine
from gankit.training.accel import make_accelerator


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="compute metrics of a trained generator against its real data")
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("overrides", nargs="*", help="recipe changes for evaluation, e.g. data.root=/data/mnist")
    p.add_argument("--metrics", help="comma-separated metric names (default: the recipe's metrics, "
                                     "else fd,classifier_score,mode_coverage), or the papers' presets "
                                     "fid50k_full,kid50k_full,is50k; see `gankit list metrics`")
    p.add_argument("--features", help="feature extractor for every metric (default: chosen by dataset)")
    p.add_argument("--num-samples", type=int, help="generated samples (default: the recipe's eval.num_samples)")
    p.add_argument("--real-samples", type=int, help="real images for the reference (default: all)")
    p.add_argument("--seed", type=int, help="sample seed (default: the recipe's eval.seed)")
    p.add_argument("--floor", action="store_true", help="also the real-vs-real value at the same sample count "
                                                        "(mean ± sd over 5 random splits of the real images)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--raw", action="store_true", help="the trained weights, not their EMA (default: the EMA "
                                                      "when the run kept one)")
    p.add_argument("--record", metavar="NAME", help="also write the values as the record results/NAME.json (with the "
                                                     "command, commit, recipe fingerprint and machine)")
    p.add_argument("--label", help="with --record: the row's name in tables (default: the run, checkpoint and weights)")
    p.add_argument("--recipe", nargs="+", metavar="PATH [KEY=VALUE]", help=records.RECIPE_HELP)
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--trust-plugins", action="store_true", help=TRUST_PLUGINS_HELP)
    p.set_defaults(func=run)


def _overrides(args) -> list[str]:
    ov = list(args.overrides)
    for flag, key in (("num_samples", "eval.num_samples"), ("real_samples", "eval.real_samples"), ("seed", "eval.seed")):
        if getattr(args, flag) is not None:
            ov.append(f"{key}={getattr(args, flag)}")
    return ov


def run(args) -> int:
    run_dir, ck = resolve_checkpoint(args.checkpoint)
    if args.recipe and not args.record:
        raise GankitError("--recipe names the recipe of a record: give --record NAME with it.")
    if args.record:  # checked before any work: the name, and that the recipe is the run's
        records.check_name(args.record)
        ref = records.recipe_ref(args.recipe, records.recipe_fingerprint(runs_mod.load(run_dir).recipe))
    # validated once: plugins imported (as plugin_trust allows), every problem at once
    valid = valid_run_recipe(run_dir, _overrides(args), args.trust_plugins)
    cfg = valid.cfg
    acc = make_accelerator(cfg, cpu=resolve_device(args.device) == "cpu", training=False)  # as training evaluates
    G = load_generator(ck, acc.device, ema=False if args.raw else None, trust_plugins=args.trust_plugins)
    conditional = is_conditional(G)
    nodes = None
    if args.metrics:
        nodes = [{"name": n.strip()} for n in args.metrics.split(",") if n.strip()]
        if not nodes:
            raise GankitError("--metrics: give metric names separated by commas, e.g. --metrics fd,kid.")
    if args.features:
        nodes = [dict(n, features=args.features) for n in (nodes or recipe.to_dict(cfg)["metrics"]
                                                           or [{"name": m} for m in _default_metrics(conditional)])]
    evaluator = Evaluator(cfg, build_data(valid), acc.device, metrics=nodes, conditional=conditional)
    results = evaluator(G, acc)
    floor = evaluator.floor(cfg.eval.num_samples) if args.floor else {}
    if not acc.is_main_process:
        return 0
    labels = {k: d.label(k) for k, d in evaluator.described.items()}
    if args.record:
        path = records.write(records.new(args.record, [_row(run_dir, ck, args, acc, results, evaluator, ref)],
                                             args.argv))
    if args.json:
        print(json.dumps({"checkpoint": str(ck), "weights": "raw" if args.raw else "default", "num_samples": evaluator.num_samples, **results,
                          **{f"floor/{k}": v for k, v in floor.items()}, "labels": labels,
                          **({"floor_values": evaluator.floor_values} if floor else {})}))
        return 0
    print(f"checkpoint: {ck}\ngenerated samples: {evaluator.num_samples}, real reference: "
          f"{len(evaluator.real_indices())} images of '{cfg.data.name}'")
    shown = {k: printable(labels.get(k, k)) for k in results if k != "eval_s"}  # names from plugins
    width = max([18, *(len(t) + 2 for t in shown.values())])
    head = f"{'metric':<{width}}{'value':>12}" + (
        f"   real-vs-real floor ({floor['floor_splits']} splits of {floor['floor_n']} vs {floor['floor_n']})"
        if floor else "")
    print(head)
    print("-" * len(head))
    for k, text in shown.items():
        print(f"{text:<{width}}{results[k]:>12.4f}" + (f"   {_floor(evaluator.floor_values[k])}"
                                                       if k in evaluator.floor_values else ""))
    print(f"elapsed: {results['eval_s']:.1f} s")
    if args.record:
        print(f"record: {path}")
    return 0


def _floor(values: list[float]) -> str:
    s = spread(values)
    return floor_text(s["mean"], s["sd"])


def _row(run_dir, ck, args, acc, results: dict, evaluator, ref: records.RecipeRef) -> records.Row:
    """The record row of one evaluated run: its values, the floor over splits (``floor/<metric>``)."""
    run = runs_mod.load(run_dir)
    values = {k: records.Value(v, None, [v], evaluator.described[k].label(k))
              for k, v in results.items() if k in evaluator.described}
    for k, vs in evaluator.floor_values.items():
        s = spread(vs)
        d = evaluator.floor_described[k]
        values[f"floor/{k}"] = records.Value(s["mean"], s["sd"], vs, f"floor {d.label(k)}, {len(vs)} splits")
    label = args.label or f"{run_dir.name} ({ck.name}, {'raw' if args.raw else 'default'} weights)"
    return records.Row(label=label, recipe=ref,
                       values=values, seeds=[run.seed], runs=[run_dir.name], machine=machine.read(run_dir),
                       precision=str(acc.mixed_precision))


def _default_metrics(conditional: bool):
    return DEFAULT_METRICS + (CONDITIONAL_METRICS if conditional else ())
