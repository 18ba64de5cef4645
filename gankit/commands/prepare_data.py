"""gankit prepare-data SRC OUT [--size N] [--crop center|none] [--channels 1|3] [--labels subfolders|none|FILE]
[--workers K] [--on-bad skip|refuse] [--overwrite]

Decodes a folder or .zip of images once, in parallel, into OUT (images.u8, labels.npy, meta.json): a
folder or zip written by NVlabs' dataset_tool.py brings its labels in its dataset.json. The result is a
dataset that ``data: {name: prepared, root: OUT}`` reads through a memory map, so training starts at
once and a dataset larger than memory streams from disk (``gankit.data.prepare``).
"""
import time

from gankit.data.decode import default_workers
from gankit.data.prepare import CROPS, ON_BAD, prepare
from gankit.errors import GankitError


def add_parser(sub) -> None:
    p = sub.add_parser("prepare-data", help="decode a folder or .zip of images once into a memory-mapped dataset")
    p.add_argument("src", metavar="SRC", help="a folder of images (sub-folders = classes) or a .zip of them")
    p.add_argument("out", metavar="OUT", help="the folder to write (images.u8, labels.npy, meta.json)")
    p.add_argument("--size", type=int, help="side in pixels of the square images (default: the first image's "
                                            "shorter side)")
    p.add_argument("--crop", choices=CROPS, default="center",
                   help="center: shorter side to --size, then the middle square (default); none: stretch to the square")
    p.add_argument("--channels", type=int, choices=(1, 3), help="convert every image to grayscale (1) or RGB (3) "
                   "(default: the first image's; an image of the other kind is then a bad file)")
    p.add_argument("--labels", default="auto", metavar="subfolders|none|FILE",
                   help="classes from sub-folders, none, or a JSON/CSV file of name,label (default: SRC's own "
                        "dataset.json, as NVlabs' dataset_tool.py writes it, else sub-folders when there are several)")
    p.add_argument("--workers", type=int, help=f"decoding processes (default: the CPUs this process may use, "
                                               f"here {default_workers()})")
    p.add_argument("--on-bad", choices=ON_BAD, default="skip",
                   help="a file that does not decode: skip it and count it (default), or refuse, naming it")
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already prepared in OUT")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.size is not None and args.size < 1:
        raise GankitError(f"--size: must be ≥ 1 pixel, got {args.size}.")
    if args.workers is not None and args.workers < 1:
        raise GankitError(f"--workers: must be ≥ 1, got {args.workers}.")
    workers = args.workers or default_workers()
    start = time.perf_counter()
    meta = prepare(args.src, args.out, size=args.size, crop=args.crop, channels=args.channels, labels=args.labels,
                   workers=workers, on_bad=args.on_bad, overwrite=args.overwrite, progress=True)
    seconds = time.perf_counter() - start
    n, c, h, w = meta["shape"]
    classes = f", {meta['num_classes']} classes" if meta["num_classes"] else ""
    print(f"wrote {n} images of {c}×{h}×{w}{classes} to {args.out} in {seconds:.1f} s ({n / seconds:.0f} images/s, "
          f"{workers} workers)")
    if meta["bad_count"]:
        print(f"skipped {meta['bad_count']} bad files (first: {meta['bad'][0]}); all are listed in "
              f"{args.out}/meta.json")
    print(f"train on it with: data: {{name: prepared, root: {args.out}}}")
    return 0
