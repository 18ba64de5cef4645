"""Tables of numbers in pages, generated from records (``gankit.experiments.records``).

A page holds ``<!-- record-table: NAME [metric ...] -->`` … ``<!-- /record-table -->``; ``render_page`` rewrites
what lies between from ``results/NAME.json`` and marks each row whose recipe has changed since it was measured
"stale" (``scripts/docsgen.py --check`` fails on it).
"""
import re
from pathlib import Path

from gankit.experiments.records import Record, Value, read, stale
from gankit.runs.pages import number, with_error

FENCE = re.compile(r"(^```.*?^```[^\n]*$)", re.S | re.M)
MARKER = re.compile(r"(<!-- record-table: *(?P<args>[^>]*?) *-->\n)(?P<body>.*?)(<!-- /record-table -->)", re.S)


def cell(v: Value | None) -> str:
    if v is None:
        return "—"
    if v.sd is None:
        return number(v.mean)
    mean, sd = with_error(v.mean, v.sd)
    return f"{mean} ± {sd}"


def markdown_table(record: Record, columns: list[str] | None = None, root: str | Path = ".",
                   source: str = "") -> tuple[str, list[str]]:
    """The Markdown table of a record (its metrics ``columns``, default all) and the rows found stale."""
    columns = columns or list(dict.fromkeys(k for r in record.rows for k in r.values))
    heads = [next((r.values[c].label for r in record.rows if c in r.values), c) for c in columns]
    lines = ["| configuration | precision | " + " | ".join(heads) + " | seeds | recipe |",
             "|---|---|" + "---:|" * len(columns) + "---:|---|"]
    stale_rows = []
    for r in record.rows:
        why = stale(r, root)
        recipe = f"`{r.recipe.path}`" if r.recipe.path else "—"
        if why:
            stale_rows.append(f"{record.name}: row '{r.label}' is stale: {why}")
            recipe += f" **stale**: {why}"
        lines.append(f"| {r.label} | {precision_name(r.precision)} | " + " | ".join(cell(r.values.get(c)) for c in columns)
                     + f" | {len(r.seeds) or '—'} | {recipe} |")
    lines += ["", f"<sub>From `{source or record.name}`: mean ± sd over seeds (a floor: over its splits; a "
                  f"timing: over the rounds or steps its label names), "
                  f"{provenance(record)}.</sub>"]
    return "\n".join(lines) + "\n", stale_rows


def precision_name(p: str | None) -> str:
    return {"no": "fp32", None: "—"}.get(p, p)


def measured_on(record: Record) -> dict:
    """The machine a record's rows were measured on: their runs' machine.json when every row has one and they
    agree on the CPU and GPUs, else the machine that wrote the record."""
    theirs = [r.machine for r in record.rows if r.machine]
    if theirs and len(theirs) == len(record.rows) and all(
            (m.get("cpu"), m.get("gpus")) == (theirs[0].get("cpu"), theirs[0].get("gpus")) for m in theirs):
        return {**record.machine, **theirs[0]}
    return record.machine


def where(m: dict) -> str:
    """``AMD EPYC (avx2, avx512f, avx512_bf16)``, or the GPUs."""
    gpus = m.get("gpus") or []
    if gpus:
        return ", ".join(gpus) + (f" (CUDA {m['cuda']})" if m.get("cuda") else "")
    return f"{m.get('cpu', '?')} ({', '.join(m.get('cpu_flags') or []) or 'no avx2/avx512/amx flags'})"


def provenance(record: Record) -> str:
    """When, where and at which commit a record was measured, as a page's footer says it."""
    sha = (record.commit.get("sha") or "no commit")[:10] + (" (dirty)" if record.commit.get("dirty") else "")
    m = measured_on(record)
    threads = m.get("threads", "?")
    return f"measured {record.date[:10]} on {where(m)}, {threads} thread{'' if threads == 1 else 's'}, commit {sha}"


def render_page(text: str, results: str | Path, root: str | Path = ".") -> tuple[str, list[str]]:
    """``text`` with every record table between its markers rewritten from ``results``; and the stale rows."""
    found: list[str] = []

    def table(m):
        name, *columns = m.group("args").split()
        rel = Path(results) / f"{name}.json"
        body, bad = markdown_table(read(rel), columns, root, source=f"results/{name}.json")
        found.extend(bad)
        return m.group(1) + body + m.group(4)

    parts = FENCE.split(text)  # a marker shown in a code block (as in the docs that describe them) stays as it is
    return "".join(p if i % 2 else MARKER.sub(table, p) for i, p in enumerate(parts)), found


def has_tables(text: str) -> bool:
    return any(MARKER.search(p) for i, p in enumerate(FENCE.split(text)) if not i % 2)
