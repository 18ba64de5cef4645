"""Recipes: YAML loading with ``base:`` chains, command-line overrides, checking against the schema.

Merge order: schema defaults (``gankit.config.schema``) ← base recipe(s) ← recipe ← ``key=value``
overrides. Every problem found is reported in one error, each with its key path.
"""
import copy
import dataclasses
import difflib
import functools
import hashlib
import json
import re
import typing
import weakref
from pathlib import Path
from typing import Any, Dict, List

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gankit.config.schema import (MOVED, PRECISIONS, RESUME_SAFE_KEYS, DDPCfg, EMACfg, EvalCfg, OptimCfg,
                                  OptimizerCfg, OutputCfg, Recipe, TrainerCfg)
from gankit.config.overrides import apply_override
from gankit.config.recipe_files import load_chain
from gankit.errors import GankitError, first_line, raise_if
from gankit.store.files import write_text_atomic

__all__ = ["load", "load_partial", "from_container", "save", "to_dict", "diff_keys", "is_resume_safe", "fingerprint",
           "folder_of",
           "Recipe", "PRECISIONS", "RESUME_SAFE_KEYS", "OptimizerCfg", "OptimCfg", "DDPCfg", "EMACfg", "EvalCfg",
           "TrainerCfg", "OutputCfg"]


def load(path: str | Path, overrides: list[str] | tuple = ()) -> DictConfig:
    """Load a recipe file with its base chain and overrides; validate; return a typed config.

    The config remembers the file's folder (``folder_of``), where its relative plugin files are found."""
    problems: list[str] = []
    raw = _merged(path, overrides, problems)
    cfg = from_container(raw, problems)
    _folders[id(cfg)] = Path(path).expanduser().parent.absolute()
    weakref.finalize(cfg, _folders.pop, id(cfg), None)
    return cfg


_folders: dict[int, Path] = {}  # by identity: beside each config, not in it (nor in its fingerprint)


def folder_of(cfg) -> Path | None:
    """The folder of the file ``load`` read ``cfg`` from (absolute); None for a config made otherwise, a
    copy or a merge (pass ``recipe_dir=`` there)."""
    return _folders.get(id(cfg))


def load_partial(path: str | Path, overrides: list[str] | tuple = ()) -> DictConfig | None:
    """The recipe as far as it is valid: keys with schema problems dropped, the rest merged over the
    schema defaults (a broken recipe's components can still be checked). None when even that fails."""
    problems: list[str] = []
    try:
        raw = _merged(path, overrides, problems)
    except GankitError:
        return None
    if not isinstance(raw, dict):
        return None
    _fix_precision(raw)
    _check_against(raw, Recipe, "", problems)
    try:
        cfg = OmegaConf.merge(_structured(Recipe), _pruned(raw, problems))
        OmegaConf.resolve(cfg)
    except (OmegaConfBaseException, TypeError, ValueError):
        return None
    return cfg


def _merged(path, overrides, problems: list[str]):
    """The raw recipe (base chain) with the overrides that apply; override problems go to ``problems``."""
    raw = load_chain(Path(path))
    raw.pop("base", None)
    merged = OmegaConf.create(raw)
    for ov in overrides:
        try:
            merged = apply_override(merged, ov)
        except GankitError as e:
            problems.append(str(e))
        except (OmegaConfBaseException, TypeError, ValueError) as e:  # (merging a list into a mapping: TypeError)
            problems.append(f"{ov}: cannot apply this override ({first_line(e)}).")
    return _to_container(merged, problems)


def _fix_precision(raw: dict) -> None:
    trainer = raw.get("trainer")
    if isinstance(trainer, dict) and trainer.get("precision") is False:
        trainer["precision"] = "no"  # YAML reads a bare `no` (e.g. trainer.precision=no) as false


def from_container(raw: dict, problems: list[str] | None = None) -> DictConfig:
    """Validate a plain dict against the schema and return the typed recipe."""
    problems = list(problems or [])
    if not isinstance(raw, dict):
        raise GankitError(f"recipe: expected a mapping at the top level, got {type(raw).__name__}.")
    _fix_precision(raw)
    _check_against(raw, Recipe, "", problems)
    if problems:  # also report the value problems of the keys that are fine, all in one message
        _check_values_of(_pruned(raw, problems), problems)
    raise_if(problems, f"The recipe has {len(problems)} problem(s):" if len(problems) > 1 else "")
    try:
        cfg = OmegaConf.merge(_structured(Recipe), raw)
        OmegaConf.resolve(cfg)
    except (OmegaConfBaseException, TypeError, ValueError) as e:
        key = getattr(e, "full_key", None) or "recipe"
        raise GankitError(f"{key}: {first_line(e)}. Fix the value (or the ${{...}} interpolation) there.") from None
    _check_values(cfg, problems)
    raise_if(problems, f"The recipe has {len(problems)} problem(s):" if len(problems) > 1 else "")
    OmegaConf.set_struct(cfg, True)
    return cfg


def _pruned(raw: dict, problems: list[str]) -> dict:
    """``raw`` without the keys that ``problems`` name (the text before the first ':' of each)."""
    raw = copy.deepcopy(raw)
    for p in problems:
        parts = re.split(r"[.\[]", p.split(":", 1)[0])
        node = raw
        for k in parts[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return raw


def _check_values_of(raw: dict, problems: list[str]) -> None:
    try:
        cfg = OmegaConf.merge(_structured(Recipe), raw)
        OmegaConf.resolve(cfg)
    except (OmegaConfBaseException, ValueError, TypeError):
        return  # the schema problems already say enough
    before = len(problems)
    try:
        _check_values(cfg, problems)
    except Exception:  # a half-valid recipe: report what was found before this
        del problems[before:]


def _to_container(cfg, problems: list[str]) -> dict:
    try:
        return OmegaConf.to_container(cfg, resolve=False)
    except OmegaConfBaseException as e:
        problems.append(f"recipe: {first_line(e)}")
        return {}


def _check_against(raw: Any, schema: type, prefix: str, problems: list[str]) -> None:
    """Collect unknown keys and type errors of ``raw`` against a schema dataclass."""
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    section = prefix.rstrip(".") or "the recipe"
    if not isinstance(raw, dict):
        problems.append(f"{section}: expected a mapping, got {raw!r}.")
        return
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if path in MOVED:
            problems.append(f"{path}: {MOVED[path]}")
            continue
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else ""
            problems.append(f"{path}: unknown key in {section}.{hint} Known keys: {', '.join(fields)}.")
            continue
        hint_t = hints[key]
        if dataclasses.is_dataclass(hint_t):
            if value is not None:
                _check_against(value, hint_t, path + ".", problems)
            continue
        try:
            OmegaConf.merge(_structured(schema), {key: value})
        except (OmegaConfBaseException, TypeError, ValueError) as e:
            problems.append(f"{path}: {_type_message(value, hint_t, e)}")
            continue
        origin = typing.get_origin(hint_t)
        if hint_t is Dict[str, Any] and not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping like {{name: ..., <arguments>}}, got {value!r}.")
        elif origin is list and hint_t is List[Dict[str, Any]] and isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    problems.append(f"{path}[{i}]: expected a mapping like {{name: ..., <arguments>}}, got {item!r}.")


@functools.lru_cache(maxsize=None)
def _structured(schema: type) -> DictConfig:
    """The schema's defaults as a config, made once (merging copies it; building one is slow)."""
    return OmegaConf.structured(schema)


def _type_message(value, hint_t, e) -> str:
    name = str(hint_t).replace("typing.", "").replace("Optional[", "null or [")
    name = getattr(hint_t, "__name__", name)
    return f"expected {name}, got {value!r} ({first_line(e)})."



def _check_values(cfg: DictConfig, problems: list[str]) -> None:
    t = cfg.trainer
    for key in ("epochs", "batch_size", "d_steps", "g_steps", "grad_accum", "log_every",
                "sample_every", "checkpoint_every", "keep_checkpoints", "num_grid"):
        if t[key] < 1:
            problems.append(f"trainer.{key}: must be ≥ 1, got {t[key]}.")
    for key in ("max_steps", "eval_every"):
        if t[key] is not None and t[key] < 1:
            problems.append(f"trainer.{key}: must be ≥ 1 (or null), got {t[key]}.")
    if t.precision not in PRECISIONS:
        problems.append(f"trainer.precision: '{t.precision}' is not one of {', '.join(PRECISIONS)}.")
    if cfg.eval.best_mode not in ("min", "max"):
        problems.append(f"eval.best_mode: '{cfg.eval.best_mode}' is not one of min, max.")
    if cfg.eval.raw and not cfg.ema.enabled:
        problems.append("eval.raw: scores the raw generator beside the EMA one, so it needs ema.enabled=true "
                        "(without EMA the evaluation already scores the raw generator); set one or remove eval.raw.")
    if cfg.eval.num_samples < 1:
        problems.append(f"eval.num_samples: must be ≥ 1, got {cfg.eval.num_samples}.")
    if t.on_nonfinite not in ("stop", "skip"):
        problems.append(f"trainer.on_nonfinite: '{t.on_nonfinite}' is not one of stop, skip.")
    for net in ("g", "d"):
        o = cfg.optim[net]
        if not o.lr > 0:
            problems.append(f"optim.{net}.lr: must be > 0, got {o.lr}.")
        if len(o.betas) != 2 or not all(0 <= b < 1 for b in o.betas):
            problems.append(f"optim.{net}.betas: expected two numbers in [0, 1), got {list(o.betas)}.")
        if o.grad_clip is not None and not o.grad_clip > 0:
            problems.append(f"optim.{net}.grad_clip: must be > 0 (or null), got {o.grad_clip}.")
    e = cfg.ema
    if e.decay is not None and not 0 < e.decay < 1:
        problems.append(f"ema.decay: must be in (0, 1) (or null: the half-life decides), got {e.decay}.")
    if not e.half_life_kimg >= 0:
        problems.append(f"ema.half_life_kimg: must be ≥ 0, got {e.half_life_kimg}.")
    if e.rampup is not None and not e.rampup > 0:
        problems.append(f"ema.rampup: must be > 0 (or null: no ramp-up), got {e.rampup}.")
    if e.bn_batches < 1:
        problems.append(f"ema.bn_batches: must be ≥ 1, got {e.bn_batches}.")
    for key in ("generator", "discriminator", "loss", "data"):
        if "name" not in cfg[key] or cfg[key].name is None:
            problems.append(f"{key}.name: missing; every component names its registered implementation.")


def save(cfg: DictConfig, path: str | Path) -> None:
    """Write the recipe as YAML, atomically (a full disk: the store's ``DiskFull``, the old file kept)."""
    write_text_atomic(path, OmegaConf.to_yaml(cfg))


def to_dict(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)


def diff_keys(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two plain recipe dicts."""
    keys = []
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k, None), new.get(k, None)
        path = f"{prefix}{k}"
        if isinstance(a, dict) and isinstance(b, dict):
            keys += diff_keys(a, b, path + ".")
        elif a != b:
            keys.append(path)
    return keys


def without_keys(plain: dict, keys) -> dict:
    """``plain`` (a recipe as a dict, changed in place) without the dotted ``keys``."""
    for key in keys:
        *parents, last = key.split(".")
        node = plain
        for k in parents:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return plain


def fingerprint(cfg: DictConfig, without: tuple[str, ...] = RESUME_SAFE_KEYS) -> str:
    """A short hash of what a run's checkpoints depend on: the resolved recipe without the
    ``RESUME_SAFE_KEYS`` (a checkpoint whose fingerprint differs was written by another recipe), or without the
    keys ``without`` (a result record's, ``gankit.experiments.records``).

    A run's is its stored recipe's, as stored: paths absolute (``gankit.config.locations``), or as given in
    a run written before they were; so neither the working folder nor moving the run changes it."""
    plain = without_keys(to_dict(cfg), without)
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_resume_safe(key: str) -> bool:
    return any(key == s or key.startswith(s + ".") for s in RESUME_SAFE_KEYS)
