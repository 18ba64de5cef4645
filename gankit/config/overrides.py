"""Command-line overrides: ``key=value`` (a dotted path), ``list[i].field=value`` (one item of a list,
e.g. ``penalties[0].gamma=1``) or ``schedules[<recipe key>].<field>=value``."""
import re

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigIndexError, OmegaConfBaseException

from gankit.errors import GankitError, first_line


ITEM_KEY = re.compile(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*(\[\d+\](\.[A-Za-z_][\w-]*)*)+")


def apply_override(cfg: DictConfig, text: str) -> DictConfig:
    """``cfg`` with one override applied: merged over it, or, for one item of a list
    (``penalties[0].gamma=1``), set in that item (merging would replace the whole list)."""
    key = text.split("=", 1)[0].strip()
    if key.startswith("schedules[") or not ITEM_KEY.fullmatch(key):
        return OmegaConf.merge(cfg, parse_override(text))
    seq_key = key[:key.index("[")]
    seq = OmegaConf.select(cfg, seq_key)
    if not OmegaConf.is_list(seq):
        raise GankitError(f"override '{text}': {seq_key} is not a list in this recipe, so [i] addresses nothing. "
                          f"Use a dotted key ({seq_key}.KEY=value) or give the whole list ({seq_key}=[...]).")
    out = cfg.copy()
    try:
        OmegaConf.update(out, key, _value(text), merge=True)
    except ConfigIndexError:
        raise GankitError(f"override '{text}': {seq_key} has {len(seq)} item(s) here (index 0 to {len(seq) - 1}). "
                          f"Use an index in that range, or give the whole list ({seq_key}=[...]).") from None
    return out


def _value(text: str):
    """The value of ``key=value``, parsed as YAML like every override's."""
    try:
        return OmegaConf.to_container(OmegaConf.from_dotlist([f"v={text.split('=', 1)[1]}"]))["v"]
    except (OmegaConfBaseException, yaml.YAMLError, ValueError) as e:
        raise GankitError(f"override '{text}': cannot parse the value ({first_line(e)}).") from None


def parse_override(text: str) -> DictConfig:
    """One override as a config to merge over the recipe; a clear error for anything else."""
    if "=" not in text or text.startswith("="):
        raise GankitError(f"override '{text}': expected key=value (e.g. trainer.max_steps=100).")
    key = text.split("=", 1)[0].strip()
    if key.startswith(("+", "~")):
        raise GankitError(f"override '{text}': write plain key=value; '+' and '~' prefixes are not used by gankit.")
    if m := re.fullmatch(r"schedules\[(.+)\]((?:\.\w+)*)", key):  # a schedule's key holds dots and brackets
        return _schedule_override(text, m.group(1), m.group(2))
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_0-9][\w-]*)*", key):
        raise GankitError(f"override '{text}': '{key}' is not a dotted key path like trainer.max_steps "
                          "(or one list item's field, like penalties[0].gamma).")
    try:
        parsed = OmegaConf.from_dotlist([text])
    except (OmegaConfBaseException, yaml.YAMLError, ValueError) as e:
        raise GankitError(f"override '{text}': cannot parse the value ({first_line(e)}).") from None
    return _named_items(parsed, key)


# Recipe keys that hold a list of component nodes: a bare name in an override means {name: it}.
COMPONENT_LISTS = ("metrics", "penalties")


def _named_items(parsed: DictConfig, key: str) -> DictConfig:
    """``metrics=[fd,mode_coverage]`` → ``metrics=[{name: fd}, {name: mode_coverage}]``."""
    value = parsed.get(key) if key in COMPONENT_LISTS else None
    if not OmegaConf.is_list(value):
        return parsed
    items = [{"name": v} if isinstance(v, str) else v for v in OmegaConf.to_container(value)]
    return OmegaConf.create({key: items})


def _schedule_override(text: str, key: str, rest: str) -> DictConfig:
    """``schedules[optim.g.lr].end=1e-5``: the override of one schedule node (or all of it)."""
    value = _value(text)
    for part in reversed([p for p in rest.split(".") if p]):
        value = {part: value}
    return OmegaConf.create({"schedules": {key: value}})
