"""gankit compare RUN_OR_SWEEP ... [--metrics LIST] [--out PAGE.html] [--json | --markdown [--per-seed]]
[--record NAME [--recipe PATH [KEY=VALUE ...]]]"""
import json
import sys
import time
from pathlib import Path

from gankit.errors import GankitError
from gankit.experiments import compare, page, record_runs, records, runs
from gankit.store.files import check_out_file, check_path, write_text_atomic


def add_parser(sub) -> None:
    c = sub.add_parser("compare", help="compare runs and sweeps: numbers over seeds, curves, samples (HTML)")
    c.add_argument("paths", nargs="+", metavar="RUN_OR_SWEEP", help="run directories, sweep folders or folders of runs")
    c.add_argument("--out", metavar="PAGE.html", help="where the page goes (default: runs/compare-<time>.html; a "
                                                       "sweep's own folder when one sweep is given)")
    c.add_argument("--metrics", metavar="LIST", help="the metrics to show, in order, e.g. fd,raw_fd,modes "
                                                      "(default: every metric the runs logged)")
    c.add_argument("--per-seed", action="store_true", help="with --markdown: also each run's final values")
    c.add_argument("--record", metavar="NAME", help="also write each configuration's final values (mean ± sd over "
                                                     "seeds), curves and grids as the record results/NAME.json")
    c.add_argument("--recipe", nargs="+", metavar="PATH [KEY=VALUE]", help=records.RECIPE_HELP)
    fmt = c.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the tables as JSON instead of writing the page")
    fmt.add_argument("--markdown", action="store_true", help="print the tables as Markdown instead")
    c.set_defaults(func=run)


def run(args) -> int:
    for path in args.paths:
        check_path(path, "compare")
    found, sweeps = runs.find(args.paths)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    data = compare.table(found, sweeps, metrics)
    if args.recipe and not args.record:
        raise GankitError("--recipe names the recipe of a record: give --record NAME with it.")
    if args.record:
        path = record_runs.write_compared(args.record, data, found, args.recipe, args.argv)
        print(f"record: {path}", file=sys.stderr if args.json or args.markdown else sys.stdout)
    if args.json:
        print(json.dumps(data, indent=1, default=str))
        return 0
    if args.markdown:
        print(compare.markdown(data, per_seed=args.per_seed))
        return 0
    out = Path(args.out) if args.out else (sweeps[0] / "compare.html" if len(args.paths) == 1 and sweeps
                                           else Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}.html")
    if out.is_dir():
        raise GankitError(f"--out: {out} is a folder; give a file name such as {out / 'compare.html'}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    check_out_file(out)
    write_text_atomic(out, page.build_html(found, data))
    print(f"comparison page: {out}")
    return 0
