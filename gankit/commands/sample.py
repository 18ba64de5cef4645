"""gankit sample RUN_DIR_OR_CHECKPOINT --num N --out FILE [--seed S] [--label K ...] [--format png|npz]

A class-conditional generator draws labels i % num_classes (or cycles through --label), its PNG
grid has one column per label, and the NPZ also holds the "labels" array.
"""
import math
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import to_uint8
from gankit.errors import GankitError
from gankit.metrics.draws import class_count, draw_labels
from gankit.models.base import is_conditional
from gankit.runs.inference import load_generator, sample


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate images from a trained run (grid PNG or NPZ array)")
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--out", required=True, help="output file (.png grid or .npz uint8 array)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, nargs="+", metavar="K",
                   help="class-conditional generators: draw these classes only (default: all, i %% num_classes)")
    p.add_argument("--format", choices=("png", "npz"), help="default: from --out's suffix, else png")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.set_defaults(func=run)


def run(args) -> int:
    fmt = args.format or ("npz" if args.out.lower().endswith(".npz") else "png")
    if args.num < 1:
        raise GankitError(f"--num: must be ≥ 1, got {args.num}.")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise GankitError(f"--out: folder {out.parent} does not exist. Create it or choose another path.")
    G = load_generator(args.checkpoint, args.device)
    labels = _labels(G, args.num, args.label)
    images = sample(G, args.num, args.seed, labels)
    if fmt == "npz":
        arrays = {"images": to_uint8(images).numpy()}
        if labels is not None:
            arrays["labels"] = labels.numpy()
        np.savez_compressed(out, **arrays)
    else:
        from torchvision.utils import save_image  # heavy: only when writing a grid

        nrow = len(labels.unique()) if labels is not None else max(1, int(math.sqrt(args.num)))
        save_image(images, out, nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
    print(f"wrote {args.num} images to {out} ({fmt})")
    return 0


def _labels(G, n: int, chosen: list[int] | None):
    """Labels for a class-conditional G: i % num_classes, or cycling through ``chosen``; None otherwise."""
    if not is_conditional(G):
        if chosen:
            raise GankitError("--label: this generator is not class-conditional, so it takes no labels. Drop --label.")
        return None
    if not chosen:
        return draw_labels(G, n)
    classes = class_count(G)
    wrong = [k for k in chosen if not 0 <= k < classes]
    if wrong:
        raise GankitError(f"--label: {wrong} outside this generator's classes 0..{classes - 1}. Give labels in that range.")
    return torch.tensor(chosen)[torch.arange(n) % len(chosen)]
