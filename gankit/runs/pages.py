"""What the HTML pages of runs share (the run report, the compare page): the head and style, tables, embedded
PNGs, and numbers at a precision a reader can use.

A page fits its window from a phone's width up: images shrink to the page, a table wider than
the page scrolls inside its own box, long words wrap. Every text given to ``table`` or ``esc`` is
escaped; only ``Html`` (markup this code wrote) goes in as it is.
"""
import base64
import html
import math

from gankit.store.metrics import metric_floor, metric_label

STYLE = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;overflow-wrap:break-word}
h1{margin-bottom:.2em;font-size:1.7em;overflow-wrap:anywhere} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.muted{color:#666} .muted,.description{overflow-wrap:anywhere} code{overflow-wrap:anywhere}
.table{max-width:100%;overflow-x:auto;margin:.5em 0}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
table.num td{font-variant-numeric:tabular-nums} td.missing{color:#999;text-align:center}
strong.best{background:#ffe9a8;color:#6b4500;padding:0 .35em;border-radius:3px;font-size:.85em}
img{max-width:100%;height:auto} figure{margin:0;max-width:100%}
figcaption{text-align:center;color:#555;font-size:.9em;overflow-wrap:anywhere}
.grids,.curves,.pair{display:flex;flex-wrap:wrap;gap:1em}
.grids img{image-rendering:pixelated;width:224px}
.pair figure{flex:1 1 300px;max-width:512px} .pair img{width:100%;image-rendering:pixelated}
pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em;overflow-wrap:normal}
"""


class Html(str):
    """Markup written by this code (not escaped again)."""


def esc(text) -> str:
    return text if isinstance(text, Html) else html.escape(str(text), quote=True)


def head(title: str, style: str = "") -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{STYLE}{style}</style></head><body>")


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def table(rows: list[list], head: list | None = None, cls: str = "num") -> str:
    """A table in a box that scrolls sideways when it is wider than the page. A cell is text, ``Html``, None
    (not logged: "—"), or (shown text, exact value) (the value goes in ``data-value``)."""
    h = "<thead><tr>" + "".join(f"<th>{esc(x)}</th>" for x in head) + "</tr></thead>" if head else ""
    body = "".join("<tr>" + "".join(_td(x) for x in r) + "</tr>" for r in rows)
    return f"<div class=\"table\"><table class=\"{cls}\">{h}<tbody>{body}</tbody></table></div>"


def _td(x) -> str:
    if isinstance(x, tuple):
        text, value = x
        return f"<td data-value=\"{esc(repr(value))}\">{esc(text)}</td>" if value is not None else \
            "<td class=\"missing\">—</td>"
    if x is None or x == "—":
        return "<td class=\"missing\">—</td>"
    return f"<td>{esc(x)}</td>"


def number(x, digits: int = 3) -> str:
    """A number at ``digits`` significant figures, its whole part kept: 1204, 120, 87.7, 0.0421."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or isinstance(x, int) or not math.isfinite(x):
        return str(x)
    if 10 ** (digits - 1) <= abs(x) < 1e6:
        return str(round(x))
    return f"{x:.{digits}g}"


def with_error(mean: float, sd: float, *more: float) -> list[str]:
    """``mean``, ``sd`` and ``more`` rounded as a measurement is: the sd to two significant figures, the others
    to the sd's last digit (0.1235 ± 0.0040; 161 ± 11)."""
    if not (sd and math.isfinite(sd)):
        return [number(v) for v in (mean, sd, *more)]
    decimals = max(0, 1 - math.floor(math.log10(abs(sd))))
    return [f"{v:.{decimals}f}" for v in (mean, sd, *more)]


def floor_text(mean: float, sd: float | None) -> str:
    """``floor 7.2 ± 1.8``: a real-vs-real floor, mean and sd over its splits."""
    return f"floor {number(mean)}" if sd is None else "floor {} ± {}".format(*with_error(mean, sd))


def metric_name(evals: list[dict], metric: str) -> str:
    """What a logged metric is, as its eval rows say: ``fd (lenet_mnist, 10k vs 10k), floor 7.2 ± 1.8`` (the bare
    name for rows written before they said it)."""
    label, floor = metric_label(evals, metric), metric_floor(evals, metric)
    return label if floor is None else f"{label}, {floor_text(floor['mean'], floor.get('sd'))}"
