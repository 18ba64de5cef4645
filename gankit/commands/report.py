"""gankit report RUN_DIR [--out FILE]: one self-contained HTML page about a run."""


def add_parser(sub) -> None:
    r = sub.add_parser("report", help="write RUN_DIR/report.html (samples, curves, numbers, recipe, versions)")
    r.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by gankit train")
    r.add_argument("--out", help="where to write the HTML (default: RUN_DIR/report.html)")
    r.set_defaults(func=run)


def run(args) -> int:
    from gankit.runs.report import write_report

    print(write_report(args.run_dir, args.out))
    return 0
