"""gankit plot RUN_DIR [--out FILE]: training curves (losses, eval metrics) as a PNG."""


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="plot a run's losses and eval metrics to <run>/curves.png")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", help="image file (default: RUN_DIR/curves.png)")
    p.set_defaults(func=run)


def run(args) -> int:
    from gankit.runs.curves import plot_curves

    print(f"wrote {plot_curves(args.run_dir, args.out)}")
    return 0
