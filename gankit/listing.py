"""``gankit list``: every registered component with its origin, arguments and one-line doc."""

import json

from .errors import GankitError
from .registry import ALL, _describe

# Arguments the run fills in from the data; shown but not asked of the recipe.
CONTEXT_ARGS = ("img_shape", "num_classes")


def rows(kind: str | None = None) -> dict[str, list[dict]]:
    if kind is not None and kind not in ALL:
        raise GankitError(f"list: unknown registry '{kind}'. Choose one of: {', '.join(ALL)}.")
    out = {}
    for name, reg in ALL.items():
        if kind and name != kind:
            continue
        out[name] = [
            {
                "name": e.name,
                "origin": e.origin,
                "doc": e.doc,
                "args": [
                    {"name": p.name,
                     "type": None if p.annotation is p.empty else str(getattr(p.annotation, "__name__", p.annotation)),
                     "default": None if p.default is p.empty else repr(p.default),
                     "required": p.default is p.empty and p.name not in CONTEXT_ARGS,
                     "from_data": p.name in CONTEXT_ARGS}
                    for p in e.parameters().values()
                ],
                "signature": ", ".join(_describe(p) for p in e.parameters().values() if p.name not in CONTEXT_ARGS),
            }
            for e in reg
        ]
    return out


def render(fmt: str = "text", kind: str | None = None) -> str:
    data = rows(kind)
    if fmt == "json":
        return json.dumps(data, indent=1)
    lines = []
    for reg, entries in data.items():
        if fmt == "markdown":
            lines += [f"## {reg}", "", "| name | arguments | origin | description |", "|---|---|---|---|"]
            lines += [f"| `{e['name']}` | `{e['signature']}` | {e['origin']} | {e['doc']} |".replace("``", "")
                      for e in entries]
        else:
            lines.append(f"{reg}:")
            for e in entries:
                lines.append(f"  {e['name']:<22} {e['doc']}")
                lines.append(f"  {'':<22} ({e['signature']})  [{e['origin']}]")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"



