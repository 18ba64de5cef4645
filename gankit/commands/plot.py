"""gankit plot RUN_DIR [--out FILE]: training curves (losses, eval metrics) as a PNG."""
from gankit.runs.curves import plot_curves
from gankit.store.files import CURVES_FILE, check_out_file


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help=f"plot a run's losses and eval metrics to <run>/{CURVES_FILE}")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", help=f"image file (default: RUN_DIR/{CURVES_FILE})")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.out:
        check_out_file(args.out)
    print(f"wrote {plot_curves(args.run_dir, args.out)}")
    return 0
