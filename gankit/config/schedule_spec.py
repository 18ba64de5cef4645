"""What a ``schedules`` node of a recipe may hold, and which keys may follow a schedule.

Checked before anything is built (``gankit.config.validate``); the schedules themselves, and what
each key sets in a run, are ``gankit.training.schedules``.
"""
import re

from gankit.config.registry import SCHEDULES
from gankit.errors import GankitError

NODE_KEYS = ("name", "start", "end", "steps", "kimg", "warmup")
SHAPE_ARGS = ("start", "end")  # what a shape factory gets from its node
OPTIM_KEY = re.compile(r"^optim\.(g|d)\.(lr|weight_decay|betas\[([01])\]|args\.(\w+))$")
COMPONENT_KEY = re.compile(r"^(penalties\[(\d+)\]|augment|loss)\.(\w+)$")
EMA_KEY = re.compile(r"^ema\.(half_life_kimg|decay)$")
SCHEDULABLE = ("optim.<g|d>.lr | weight_decay | betas[0|1] | args.<name>, penalties[i].<arg>, augment.<arg>, "
               "loss.<arg>, ema.half_life_kimg | ema.decay")


def node_problems(key: str, node) -> list[str]:
    """What is wrong with ``schedules[key]`` that shows without building anything."""
    where = f"schedules[{key}]"
    if not (OPTIM_KEY.match(key) or COMPONENT_KEY.match(key) or EMA_KEY.match(key)):
        return [f"{where}: '{key}' cannot follow a schedule. Schedulable keys: {SCHEDULABLE}."]
    if not isinstance(node, dict) or "name" not in node:
        return [f"{where}: write a mapping with at least a name, e.g. {{name: cosine, end: 0.0}}; got {node!r}."]
    found = [f"{where}.{k}: not a schedule key; a schedule takes {', '.join(NODE_KEYS)}."
             for k in node if k not in NODE_KEYS]
    if "steps" in node and "kimg" in node:
        found.append(f"{where}: give its length as steps or as kimg, not both.")
    for k in ("start", "end", "steps", "kimg", "warmup"):
        v = node.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            found.append(f"{where}.{k}: must be a number, got {v!r}.")
        elif v is not None and k in ("steps", "kimg", "warmup") and v < 0:
            found.append(f"{where}.{k}: must be ≥ 0, got {v}.")
    length = node.get("steps", node.get("kimg"))
    warmup = node.get("warmup") or 0
    if not found and length is not None and warmup > length:
        found.append(f"{where}.warmup: {warmup} is longer than the schedule ({length}); shorten it.")
    if not found:
        try:
            SCHEDULES.entry(node["name"], f"{where}.name")
        except GankitError as e:
            return [str(e)]
        found += SCHEDULES.check({"name": node["name"]}, f"{where}", dict.fromkeys(SHAPE_ARGS))
    return found
