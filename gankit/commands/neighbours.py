"""gankit neighbours RUN_DIR_OR_CHECKPOINT --out FILE.png [--num N] [--k K] [--seed S | A-B] [--features NAME]
[key=value ...]

Each of N generated samples (framed in red) beside its K nearest training images in the feature
space of the extractor the run's metrics use: near-copies of training images show up at once.
The run's recipe says which data it trained on; key=value changes it (e.g. data.root=/data/mnist).
"""
from pathlib import Path

from gankit.data.build import build_data
from gankit.errors import GankitError
from gankit.metrics.draws import draw_labels
from gankit.runs.explore import check_draw, parse_seeds, seed_latents
from gankit.runs.inference import (DEVICE_HELP, TRUST_PLUGINS_HELP, check_truncation, generate, load_generator,
                                   resolve_checkpoint, resolve_device, sample, valid_run_recipe)
from gankit.runs.model_folder import is_model_folder
from gankit.runs.neighbours import find_neighbours, sheet
from gankit.store.files import check_out_file
from gankit.store.grids import save_picture


def add_parser(sub) -> None:
    p = sub.add_parser("neighbours", help="generated samples beside their nearest training images (memorisation check)")
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("overrides", nargs="*", help="recipe changes, e.g. data.root=/data/mnist")
    p.add_argument("--out", required=True, help="output PNG: one row per sample, its nearest training images after it")
    p.add_argument("--num", type=int, help="generated samples of a single --seed (default 8)")
    p.add_argument("--k", type=int, default=5, help="nearest training images per sample (default 5)")
    p.add_argument("--seed", default="0", help="a seed (a draw of --num samples) or seeds, one sample each: 0-7")
    p.add_argument("--truncation", default="1", metavar="PSI", help="ψ in [0, 1] (see gankit sample; default 1)")
    p.add_argument("--features", help="feature extractor (default: the one the run's metrics use)")
    p.add_argument("--raw", action="store_true", help="the trained weights, not their EMA")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--trust-plugins", action="store_true", help=TRUST_PLUGINS_HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    seeds = parse_seeds(args.seed)
    device = resolve_device(args.device)
    psi = check_truncation(args.truncation, "--truncation")
    if args.k < 1:
        raise GankitError(f"--k: must be ≥ 1, got {args.k}.")
    if args.num is not None and (args.num < 1 or len(seeds) > 1):
        raise GankitError(f"--num: give a number ≥ 1 with a single --seed (a seed list gives one sample per seed), "
                          f"got --num {args.num} --seed {args.seed}.")
    out = check_out_file(args.out)
    if is_model_folder(Path(args.checkpoint)):
        raise GankitError(f"{args.checkpoint}: an exported generator holds no training images to compare with. Give "
                          f"the run directory it was exported from (config.json names it under \"trained\").")
    run_dir, ck = resolve_checkpoint(args.checkpoint)
    # plugins first
    valid = valid_run_recipe(run_dir, list(args.overrides) + ["eval.real_samples=null"], args.trust_plugins)
    cfg = valid.cfg
    G = load_generator(ck, device, ema=False if args.raw else None, trust_plugins=args.trust_plugins)
    if len(seeds) > 1:
        samples = generate(G, seed_latents(seeds, G.z_dim), draw_labels(G, len(seeds)), psi)
    else:
        check_draw(args.num or 8, G.img_shape)
        samples = sample(G, args.num or 8, seeds[0], truncation=psi)
    data = build_data(valid)
    result = find_neighbours(samples, cfg, data, args.k, args.features, device)
    save_picture(sheet(result), out)
    print(f"wrote {out}: {len(samples)} samples, each beside its {args.k} nearest of {len(data)} training images "
          f"('{cfg.data.name}', features '{result.features}')")
    print(f"{'sample':>6}  nearest training images (feature distance)")
    for i, (d, j) in enumerate(zip(result.distances, result.indices)):
        who = f"seed {seeds[i]}" if len(seeds) > 1 else str(i)
        print(f"{who:>6}  " + ", ".join(f"#{int(a)} ({float(b):.3g})" for a, b in zip(j, d)))
    return 0
