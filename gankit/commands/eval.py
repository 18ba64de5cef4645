"""gankit eval RUN_DIR_OR_CHECKPOINT [key=value ...] [--metrics fd,kid] [--num-samples N] [--floor] [--json]"""
import json

from gankit.config import recipe
from gankit.data.build import build_data
from gankit.errors import GankitError, printable
from gankit.models.base import is_conditional
from gankit.metrics.evaluation import CONDITIONAL_METRICS, DEFAULT_METRICS, Evaluator
from gankit.runs.inference import (DEVICE_HELP, TRUST_PLUGINS_HELP, load_generator, resolve_checkpoint, resolve_device,
                                   valid_run_recipe)
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
    p.add_argument("--floor", action="store_true", help="also the real-vs-real value at the same sample count")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--raw", action="store_true", help="the trained weights, not their EMA (default: the EMA "
                                                      "when the run kept one)")
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
    if args.json:
        print(json.dumps({"checkpoint": str(ck), "weights": "raw" if args.raw else "default", "num_samples": evaluator.num_samples, **results,
                          **{f"floor/{k}": v for k, v in floor.items()}}))
        return 0
    print(f"checkpoint: {ck}\ngenerated samples: {evaluator.num_samples}, real reference: "
          f"{len(evaluator.real_indices())} images of '{cfg.data.name}'")
    head = f"{'metric':<18}{'value':>12}" + (f"{'real floor (n=' + str(floor.get('floor_n')) + ')':>22}" if floor else "")
    print(head)
    print("-" * len(head))
    for k, v in results.items():
        if k != "eval_s":
            print(f"{printable(k):<18}{v:>12.4f}" + (f"{floor[k]:>22.4f}" if k in floor else ""))  # names from plugins
    print(f"elapsed: {results['eval_s']:.1f} s")
    return 0


def _default_metrics(conditional: bool):
    return DEFAULT_METRICS + (CONDITIONAL_METRICS if conditional else ())
