"""``gankit list``: every registered component with its origin, arguments and one-line doc.

Everything shown is read from the code: the registry entry's origin, the signature of the
class or factory (names, annotations, defaults) and the first line of its docstring.
"""

import inspect
import json

from gankit.config import plugins
from gankit.config.registry import ALL, _describe
from gankit.errors import GankitError

# Arguments the run fills in from the data; shown but not asked of the recipe.
CONTEXT_ARGS = ("img_shape", "num_classes")
# Other arguments the run supplies, by registry: argument → where its value comes from.
SUPPLIED = {
    "optimizers": {"params": "the network", "lr": "optim.<net>.lr", "betas": "optim.<net>.betas",
                   "weight_decay": "optim.<net>.weight_decay", "device": "the run"},
    "schedules": {"start": "schedules[<key>].start", "end": "schedules[<key>].end"},
    "augment_policies": {"x": "the batch"},
}


def _supplied_by(registry: str, arg: str) -> str | None:
    return "the data" if arg in CONTEXT_ARGS else SUPPLIED.get(registry, {}).get(arg)

FORMATS = ("text", "json", "markdown")


def _type_name(annotation) -> str | None:
    if annotation is inspect.Parameter.empty:
        return None
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _origin_fields(origin: str) -> dict:
    """Split an origin string ("built-in", "plugin <pkg> <version>", "file <path>", "module <m>")."""
    kind, _, rest = origin.partition(" ")
    if kind == "plugin":
        package, _, version = rest.partition(" ")
        return {"source": "plugin", "package": package, "version": version or None, "path": None}
    if kind == "file":
        return {"source": "file", "package": None, "version": None, "path": rest}
    if kind == "module":
        return {"source": "module", "package": rest, "version": None, "path": None}
    return {"source": "built-in", "package": None, "version": None, "path": None}


def rows(kind: str | None = None, builtin_only: bool = False) -> dict[str, list[dict]]:
    """``{registry: [component, ...]}``; each component a plain dict (what ``--json`` prints)."""
    if kind is not None and kind not in ALL:
        raise GankitError(f"list: unknown registry '{kind}'. Choose one of: {', '.join(ALL)}.")
    out = {}
    for name, reg in ALL.items():
        if kind and name != kind:
            continue
        out[name] = []
        for e in reg:
            if builtin_only and e.origin != "built-in":
                continue
            params = e.parameters().values()
            out[name].append({
                "name": e.name,
                "origin": e.origin,
                **_origin_fields(e.origin),
                "doc": e.doc,
                "args": [
                    {"name": p.name,
                     "type": _type_name(p.annotation),
                     "default": None if p.default is p.empty else repr(p.default),
                     "required": p.default is p.empty and _supplied_by(name, p.name) is None,
                     "from_data": p.name in CONTEXT_ARGS}
                    for p in params
                ],
                "signature": ", ".join(_describe(p) for p in params if _supplied_by(name, p.name) is None),
            })
    return out


def plugin_rows() -> list[dict]:
    """Installed plugin packages (entry points) with their status."""
    return [{"entry_point": p.name, "value": p.value, "package": p.package, "version": p.version,
             "loaded": p.error is None, "error": p.error} for p in plugins.installed]


def render(fmt: str = "text", kind: str | None = None, builtin_only: bool = False) -> str:
    if fmt not in FORMATS:
        raise GankitError(f"list: unknown format '{fmt}'. Choose one of: {', '.join(FORMATS)}.")
    data = rows(kind, builtin_only)
    installed = [] if builtin_only else plugin_rows()
    if fmt == "json":
        return json.dumps({"registries": data, "installed_plugins": installed}, indent=1) + "\n"
    if fmt == "markdown":
        return _markdown(data, installed)
    return _text(data, installed)


def _arg_text(reg: str, a: dict) -> str:
    t = f": {a['type']}" if a["type"] else ""
    if _supplied_by(reg, a["name"]):
        return f"{a['name']}{t}  (from {_supplied_by(reg, a['name'])})"
    d = "  (required)" if a["required"] else f" = {a['default']}"
    return f"{a['name']}{t}{d}"


def _text(data: dict, installed: list[dict]) -> str:
    lines = []
    for reg, entries in data.items():
        lines.append(f"{reg} ({len(entries)}):")
        if not entries:
            lines.append("  (none)")
        for e in entries:
            lines.append(f"  {e['name']}  [{e['origin']}]")
            if e["doc"]:
                lines.append(f"      {e['doc']}")
            for a in e["args"]:
                lines.append(f"      - {_arg_text(reg, a)}")
        lines.append("")
    if installed:
        lines.append("installed plugin packages:")
        for p in installed:
            state = "loaded" if p["loaded"] else f"FAILED: {p['error']}"
            lines.append(f"  {p['package'] or p['value']} {p['version'] or ''}  ({p['entry_point']} = {p['value']}): {state}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    """Plain text safe inside a Markdown table cell (a pipe would end the cell)."""
    return str(text).replace("|", r"\|").replace("\n", " ")


def _code(text: str) -> str:
    """A code span inside a table cell: pipes inside backticks do not end the cell."""
    text = str(text).replace("\n", " ")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _markdown(data: dict, installed: list[dict]) -> str:
    lines = []
    for reg, entries in data.items():
        lines += [f"## {reg}", ""]
        if not entries:
            lines += ["(none registered)", ""]
        for e in entries:
            lines += [f"### `{e['name']}`", ""]
            if e["doc"]:
                lines += [e["doc"], ""]
            lines += [f"*Origin:* {e['origin']}", ""]
            if e["args"]:
                lines += ["| argument | type | default |", "|---|---|---|"]
                for a in e["args"]:
                    default = (f"*from {_supplied_by(reg, a['name'])}*" if _supplied_by(reg, a["name"]) else
                               "*required*" if a["required"] else _code(a["default"]))
                    typ = _code(a["type"]) if a["type"] else ""
                    lines.append(f"| `{a['name']}` | {typ} | {default} |")
                lines.append("")
            else:
                lines += ["No arguments.", ""]
    if installed:
        lines += ["## installed plugin packages", "", "| package | version | entry point | status |", "|---|---|---|---|"]
        for p in installed:
            status = "loaded" if p["loaded"] else f"failed: {_cell(p['error'])}"
            lines.append(f"| {p['package'] or ''} | {p['version'] or ''} | "
                         f"{_code(p['entry_point'] + ' = ' + p['value'])} | {status} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
