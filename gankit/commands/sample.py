"""gankit sample RUN_DIR_OR_CHECKPOINT --num N --out FILE [--seed S] [--format png|npz]"""
from pathlib import Path

from ..errors import GankitError


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate images from a trained run (grid PNG or NPZ array)")
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--out", required=True, help="output file (.png grid or .npz uint8 array)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("png", "npz"), help="default: from --out's suffix, else png")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.set_defaults(func=run)


def run(args) -> int:
    import math

    from ..data.base import to_uint8
    from ..inference import load_generator, sample

    fmt = args.format or ("npz" if args.out.lower().endswith(".npz") else "png")
    if args.num < 1:
        raise GankitError(f"--num: must be ≥ 1, got {args.num}.")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise GankitError(f"--out: folder {out.parent} does not exist. Create it or choose another path.")
    G = load_generator(args.checkpoint, args.device)
    images = sample(G, args.num, args.seed)
    if fmt == "npz":
        import numpy as np

        np.savez_compressed(out, images=to_uint8(images).numpy())
    else:
        from torchvision.utils import save_image

        save_image(images, out, nrow=max(1, int(math.sqrt(args.num))), normalize=True, value_range=(-1, 1), padding=2)
    print(f"wrote {args.num} images to {out} ({fmt})")
    return 0
