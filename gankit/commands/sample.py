"""gankit sample SOURCE --out FILE [--num N] [--seed S | A-B,C] [--truncation ψ] [--interpolate STEPS]
[--mix [K]] [--label K ...] [--format png|npz]

SOURCE: a run directory, a checkpoint, an exported folder or a Hub repo id (user/repo).
``--seed 3 --num 64``: the seeded draw of 64 images (the draw evaluation uses); ``--seed 0-7``
(or ``0-3,10``): one image per seed. A class-conditional generator draws labels i % num_classes
(or cycles through --label), its PNG grid has one column per label, and the NPZ also holds the
"labels" array. ``--interpolate STEPS`` walks along the sphere from each seed to the next:
one grid row of STEPS images per pair, and an animated GIF of the whole walk beside the PNG
(and an MP4 when imageio and its ffmpeg plugin are installed). ``--mix [K]`` writes a style-mixing
grid instead (``gankit.runs.mixing``).
"""
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import to_uint8
from gankit.errors import GankitError
from gankit.metrics.draws import class_count, draw_labels
from gankit.models.base import is_conditional
from gankit.runs.explore import check_draw, interpolation_latents, parse_seeds, path_frames, seed_latents
from gankit.runs.grids import can_write_mp4, columns, save_gif, save_mp4
from gankit.runs.inference import (DEVICE_HELP, TRUST_PLUGINS_HELP, check_truncation, generate, load_generator,
                                   resolve_device, sample, truncation_kind)
from gankit.runs.mixing import write_mixing_grid
from gankit.store.files import check_out_file, replacing
from gankit.store.grids import save_grid

DEFAULT_NUM = 64


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate images from a trained generator (grid PNG, NPZ, interpolation GIF)")
    p.add_argument("checkpoint", metavar="SOURCE", help="run directory, checkpoint, exported folder or Hub repo id")
    p.add_argument("--num", type=int, help=f"number of images of a single --seed (default {DEFAULT_NUM})")
    p.add_argument("--out", required=True, help="output file (.png grid or .npz uint8 array)")
    p.add_argument("--seed", default="0", help="a seed (a draw of --num images), or seeds for one image each: "
                                               "0-7, 0-3,10 (default 0)")
    p.add_argument("--truncation", default="1", metavar="PSI",
                   help="ψ in [0, 1]: pull samples towards the mean (w for mapping-network generators, else z; "
                        "default 1 = none)")
    p.add_argument("--interpolate", type=int, metavar="STEPS",
                   help="spherical interpolation between consecutive seeds, STEPS images per pair (both ends)")
    p.add_argument("--label", "--labels", dest="label", type=int, nargs="+", metavar="K",
                   help="class-conditional generators: draw these classes only (default: all, i %% num_classes; "
                        "with --interpolate: one class)")
    p.add_argument("--mix", type=int, nargs="?", const=-1, metavar="K",
                   help="style-based generators (stylegan2): a style-mixing grid of √--num row and column seeds from "
                        "the first --seed; each cell takes its first K copies of w from its column (default: half)")
    p.add_argument("--format", choices=("png", "npz"), help="default: from --out's suffix, else png")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE_OR_MODULE",
                   help="a plugin to load first (an exported generator from a single-file plugin needs its file)")
    p.add_argument("--revision", help="Hub repo id: the branch, tag or commit (default: main)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--trust-plugins", action="store_true", help=TRUST_PLUGINS_HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    fmt = args.format or ("npz" if args.out.lower().endswith(".npz") else "png")
    seeds = parse_seeds(args.seed)
    psi = check_truncation(args.truncation, "--truncation")
    if args.num is not None and args.num < 1:
        raise GankitError(f"--num: must be ≥ 1, got {args.num}.")
    if len(seeds) > 1 and args.num is not None and args.num != len(seeds):
        raise GankitError(f"--num: --seed {args.seed} gives one image per seed ({len(seeds)}), so --num {args.num} "
                          f"does not apply. Drop --num, or give one seed.")
    if args.interpolate is not None:
        interpolation_latents(seeds, args.interpolate, 1)  # refuse a bad --interpolate before loading anything
    out = check_out_file(args.out)
    G = load_generator(args.checkpoint, resolve_device(args.device), revision=args.revision, plugins=args.plugin,
                       trust_plugins=args.trust_plugins)
    note = "" if psi == 1 else f", truncation ψ={psi:g} in {truncation_kind(G)}"
    if args.mix is not None:
        if args.label:
            _check_classes(G, args.label[:1])
        print(write_mixing_grid(G, out, args.num or DEFAULT_NUM, seeds[0], args.mix, psi, (args.label or [0])[0]))
        return 0
    if args.interpolate is not None:
        return _interpolate(G, seeds, args, out, fmt, psi, note)
    n = len(seeds) if len(seeds) > 1 else (args.num or DEFAULT_NUM)
    check_draw(n, G.img_shape)
    labels = _labels(G, n, args.label)
    if len(seeds) > 1:
        images = generate(G, seed_latents(seeds, G.z_dim), labels, psi)
    else:
        images = sample(G, n, seeds[0], labels, truncation=psi)
    _write(images, labels, out, fmt, columns(n, labels), {"seeds": np.array(seeds)} if len(seeds) > 1 else {})
    print(f"wrote {n} images to {out} ({fmt}{note})")
    return 0


def _interpolate(G, seeds, args, out: Path, fmt: str, psi: float, note: str) -> int:
    """One grid row per pair of consecutive seeds; the whole walk as a GIF (and MP4) beside it."""
    rows = interpolation_latents(seeds, args.interpolate, G.z_dim)
    pairs, steps = rows.shape[:2]
    label = _interpolation_label(G, args.label)
    labels = None if label is None else torch.full((pairs * steps,), label)
    images = generate(G, rows.reshape(pairs * steps, -1), labels, psi)
    _write(images, labels, out, fmt, steps, {"seeds": np.array(seeds)})
    written = [str(out)]
    walk = path_frames(images.reshape(pairs, steps, *images.shape[1:]))
    written.append(str(save_gif(walk, out.with_suffix(".gif"))))
    if can_write_mp4():
        written.append(str(save_mp4(walk, out.with_suffix(".mp4"))))
    print(f"wrote {pairs} × {steps} interpolation images to {', '.join(written)} "
          f"(seeds {', '.join(map(str, seeds))}{'' if label is None else f', class {label}'}{note})")
    return 0


def _write(images, labels, out: Path, fmt: str, nrow: int, extra: dict) -> None:
    if fmt == "npz":
        arrays = {"images": to_uint8(images).numpy(), **extra}
        if labels is not None:
            arrays["labels"] = labels.numpy()
        with replacing(out, sum(a.nbytes for a in arrays.values())) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)  # a file object: numpy adds no suffix, and a full disk leaves nothing
    else:
        save_grid(images, out, nrow)


def _check_classes(G, chosen: list[int]) -> None:
    if not is_conditional(G):
        raise GankitError("--label: this generator is not class-conditional, so it takes no labels. Drop --label.")
    classes = class_count(G)
    wrong = [k for k in chosen if not 0 <= k < classes]
    if wrong:
        raise GankitError(f"--label: {wrong} outside this generator's classes 0..{classes - 1}. "
                          f"Give labels in that range.")


def _labels(G, n: int, chosen: list[int] | None):
    """Labels for a class-conditional G: i % num_classes, or cycling through ``chosen``; None otherwise."""
    if chosen:
        _check_classes(G, chosen)
        return torch.tensor(chosen)[torch.arange(n) % len(chosen)]
    return draw_labels(G, n) if is_conditional(G) else None


def _interpolation_label(G, chosen: list[int] | None) -> int | None:
    """The one class of an interpolation (default 0) for a class-conditional G; None otherwise."""
    if chosen:
        if len(chosen) > 1:
            raise GankitError(f"--label: --interpolate draws the whole walk in one class; give one label, "
                              f"not {chosen}.")
        _check_classes(G, chosen)
        return chosen[0]
    return 0 if is_conditional(G) else None
