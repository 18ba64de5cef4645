"""Figures and machine lines in pages, generated from records (``gankit.experiments.records``).

``<!-- record-figures: NAME [metric] -->`` … ``<!-- /record-figures -->``: the record's curve of ``metric``
(default ``fd``) over thousands of images seen (each seed a thin line, their mean a thick one), written as
``docs/images/records/NAME-METRIC.svg``, and each row's last sample grid beside its real images, copied to
``docs/images/records/NAME-last.png`` and ``NAME-real.png``. ``<!-- record-machine: NAME -->`` … ``<!--
/record-machine -->``: one line naming the machine, its versions and the rows' precision.

The files are made here, as bytes, and written (or checked) by ``scripts/docsgen.py`` alone; the SVG is the
same bytes at every render (a fixed hash salt, no date) and names a digest of what it draws in its description,
which is what ``same_file`` compares: another matplotlib draws the same curve in other bytes.
"""
import hashlib
import io
import json
import os
import re
from pathlib import Path

from gankit.experiments.record_tables import FENCE, measured_on, precision_name, provenance, where
from gankit.experiments.records import Record, read
from gankit.store.grids import read_grid

IMAGES = Path("docs") / "images" / "records"
FIGURES = re.compile(r"(<!-- record-figures: *(?P<args>[^>]*?) *-->\n)(?P<body>.*?)(<!-- /record-figures -->)", re.S)
MACHINE = re.compile(r"(<!-- record-machine: *(?P<args>[^>]*?) *-->\n)(?P<body>.*?)(<!-- /record-machine -->)", re.S)
SALT = "gankit-records"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def curve_svg(record: Record, metric: str) -> bytes | None:
    """The SVG of ``metric``'s curve over every row of ``record``; None when no row has one."""
    rows = [r for r in record.rows if r.curves.get(metric)]
    if not rows:
        return None
    import matplotlib
    from matplotlib.figure import Figure

    by_images = all(p["images"] is not None for r in rows for p in r.curves[metric])
    label = next((r.values[metric].label for r in record.rows if metric in r.values), metric)
    drawn = json.dumps([label, [[r.label, r.curves[metric]] for r in rows]], sort_keys=True)
    with matplotlib.rc_context({"svg.hashsalt": SALT, "svg.fonttype": "path", "backend": "Agg"}):
        fig = Figure(figsize=(6.4, 3.6))
        ax = fig.subplots()
        for i, r in enumerate(rows):
            pts = r.curves[metric]
            xs = [p["images"] / 1000 if by_images else p["step"] for p in pts]
            color = f"C{i % 10}"
            for s in range(len(pts[0]["values"])):
                ax.plot(xs, [p["values"][s] for p in pts], color=color, linewidth=0.7, alpha=0.45)
            ax.plot(xs, [sum(p["values"]) / len(p["values"]) for p in pts], color=color, linewidth=2.2,
                    label=f"{r.label} (mean of {len(pts[0]['values'])})")
        ax.set_xlabel("thousands of images seen (kimg)" if by_images else "step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Description": DIGEST + _digest(drawn)})
    return buf.getvalue()


DIGEST = "gankit record figure "
_DESCRIBED = re.compile(rb"<dc:description>" + re.escape(DIGEST.encode()) + rb"([0-9a-f]+)</dc:description>")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def same_file(path: Path, data: bytes) -> bool:
    """Whether the image file ``path`` shows what ``data`` (as rendered now) does: an SVG curve the same digest
    of its data, any other file the same bytes."""
    if not path.is_file():
        return False
    have = path.read_bytes()
    if path.suffix == ".svg":
        ours, theirs = _DESCRIBED.search(data), _DESCRIBED.search(have)
        return bool(ours and theirs and ours.group(1) == theirs.group(1))
    return have == data


def _link(target: Path, page: Path, root: Path) -> str:
    return Path(os.path.relpath(root / target, (root / page).parent if page else root)).as_posix()


def figures(record: Record, metric: str, root: Path, page: Path | None, files: dict) -> str:
    """The block's body; the files it shows go into ``files`` ({path under ``root``: bytes})."""
    root = Path(root)
    lines = []
    svg = curve_svg(record, metric)
    if svg is not None:
        target = IMAGES / f"{record.name}-{_slug(metric)}.svg"
        files[root / target] = svg
        lines += [f"![{metric} over images seen, {record.name}]({_link(target, page, root)})", ""]
    else:
        lines += [f"(no curve of {metric} in this record)", ""]
    grids = [(i, r) for i, r in enumerate(record.rows) if r.images.get("last")]
    if grids:
        lines += ["| configuration | last grid | real images |", "|---|---|---|"]
    for i, r in grids:
        cells = []
        for key in ("last", "real"):
            png = read_grid(root / r.images[key]) if r.images.get(key) else None
            if png is None:
                cells.append("—")
                continue
            target = IMAGES / f"{record.name}-{_slug(Path(r.images[key]).stem)}.png"
            files[root / target] = png
            caption = (f"last grid (seed {r.images.get('last_seed', '?')}, step {r.images.get('last_step', '?')})"
                       if key == "last" else "real images")
            cells.append(f"![{caption}]({_link(target, page, root)})<br>{caption}")
        lines.append(f"| {r.label} | " + " | ".join(cells) + " |")
    lines += ["", f"<sub>From `results/{record.name}.json`: {provenance(record)}.</sub>"]
    return "\n".join(lines) + "\n"


def machine_line(record: Record) -> str:
    """One line: the machine the rows were measured on (``record_tables.measured_on``), its CPU flags or GPUs,
    threads, torch and accelerate, and the precision."""
    m = measured_on(record)
    precisions = {precision_name(r.precision) for r in record.rows}
    said = [where(m), f"{m.get('threads', '?')} threads", f"torch {m.get('torch', '?')}",
            f"accelerate {m.get('accelerate', '?')}"]
    if len(precisions) == 1:
        said.append(f"precision {precisions.pop()}")
    return "Measured on " + ", ".join(said) + f" (`results/{record.name}.json`).\n"


def render_page(text: str, results: str | Path, root: str | Path = ".", page: Path | None = None,
                files: dict | None = None) -> str:
    """``text`` with every figures and machine block rewritten from ``results``; the image files they show go
    into ``files``. ``page``: the page's path under ``root`` (its image links are relative to it)."""
    files = {} if files is None else files

    def fig(m):
        name, *metric = m.group("args").split()
        return m.group(1) + figures(read(Path(results) / f"{name}.json"), (metric or ["fd"])[0], Path(root), page,
                                    files) + m.group(4)

    def machine(m):
        return m.group(1) + machine_line(read(Path(results) / f"{m.group('args').split()[0]}.json")) + m.group(4)

    parts = FENCE.split(text)
    return "".join(p if i % 2 else MACHINE.sub(machine, FIGURES.sub(fig, p)) for i, p in enumerate(parts))


def has_blocks(text: str) -> bool:
    return any(FIGURES.search(p) or MACHINE.search(p) for i, p in enumerate(FENCE.split(text)) if not i % 2)
