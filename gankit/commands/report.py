"""gankit report RUN_DIR [--out FILE]: one self-contained HTML page about a run."""
from gankit.runs.report import write_report
from gankit.store.files import REPORT_FILE, check_out_file, check_path


def add_parser(sub) -> None:
    r = sub.add_parser("report", help=f"write RUN_DIR/{REPORT_FILE} (samples, curves, numbers, recipe, versions)")
    r.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by gankit train")
    r.add_argument("--out", help=f"where to write the HTML (default: RUN_DIR/{REPORT_FILE})")
    r.set_defaults(func=run)


def run(args) -> int:
    check_path(args.run_dir, "RUN_DIR")
    if args.out:
        check_out_file(args.out)
    print(write_report(args.run_dir, args.out))
    return 0
