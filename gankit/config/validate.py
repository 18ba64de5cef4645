"""One validation path: everything about a recipe that can be checked without building anything.

``problems(cfg, base_dir)`` is what ``gankit check`` reports before it builds anything and what
training (``build_parts``) refuses to start with: settings this machine cannot honour, plugins
that do not load, and every component (name and arguments, through ``Registry.check``),
penalty, augment policy, metric, optimizer, schedule and side job the recipe names.

``load(path, overrides)`` is ``recipe.load`` followed by those checks. For a recipe whose schema
fails it still checks the rest: the broken keys are dropped and the schema's own defaults
(``gankit.config.schema.Recipe``) stand in for them, so one message names every mistake.
"""
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gankit.config import plugins, recipe, recipe_files
from gankit.data.holdout import split_holdout
from gankit.losses.penalties import split_interval
from gankit.training import schedules
from gankit.config.registry import (AUGMENT_POLICIES, AUGMENTS, DATASETS, DISCRIMINATORS, FEATURES, GENERATORS,
                                    LOSSES, METRICS, OPTIMIZERS, PENALTIES)
from gankit.config.registry import SIDE_JOBS
from gankit.errors import GankitError, raise_if

# Arguments the run supplies to models, losses, penalties and augments (from the data and G).
DATA_CONTEXT = ("img_shape", "num_classes", "z_dim")
# Arguments an optimizer gets from the trainer (params, device) and from its optim.<net> keys.
OPTIMIZER_CONTEXT = ("params", "lr", "betas", "weight_decay", "device")
NETS = ("g", "d")


def load(path: str | Path, overrides=()) -> DictConfig:
    """Load a recipe (plugin files made absolute) and raise one error listing every problem found."""
    path = Path(path)
    try:
        cfg = recipe.load(path, list(overrides))
    except GankitError as e:
        partial = recipe.load_partial(path, list(overrides))
        more = [] if partial is None else problems(plugins.absolute_plugins(partial, path.parent), path.parent,
                                                   _inherited(path, overrides))
        found = list(dict.fromkeys(e.problems + more))
        raise GankitError.collect(found, header(found)) from None
    cfg = plugins.absolute_plugins(cfg, path.parent)
    found = problems(cfg, path.parent, _inherited(path, overrides))
    raise_if(found, header(found))
    return cfg


def _inherited(path: Path, overrides) -> dict[str, str]:
    try:
        return recipe_files.inherited_arguments(path, list(overrides))
    except GankitError:  # a broken chain is reported by recipe.load
        return {}


def header(found: list[str]) -> str:
    return f"The recipe has {len(found)} problem(s):" if len(found) > 1 else ""


def problems(cfg: DictConfig, base_dir: str | Path | None = None, inherited: dict[str, str] | None = None) -> list[str]:
    """Every problem of a schema-valid recipe that shows without building: settings, plugins, names.

    ``inherited``: component arguments kept from a ``base:`` recipe (``recipe.inherited_arguments``)."""
    found = settings_problems(cfg)
    plugin = plugin_problems(cfg, base_dir)
    # Unloadable plugins would make their components look unknown: report the plugins only.
    return found + (plugin or component_problems(cfg, inherited or {}))


def settings_problems(cfg: DictConfig) -> list[str]:
    """Settings this machine (or accelerate) cannot honour."""
    t, found = cfg.trainer, []
    cpu = t.cpu or not torch.cuda.is_available()
    if t.precision == "fp16" and cpu:
        found.append("trainer.precision: fp16 needs a CUDA GPU (on a CPU it would silently train in fp32). "
                     "Use trainer.precision=bf16 or no on this machine.")
    if isinstance(t.compile, str) and t.compile != "auto":
        found.append(f"trainer.compile: '{t.compile}' is not true, false or auto. Write trainer.compile=auto to "
                     f"compile where it is faster (CUDA) or true/false to choose.")
    if cfg.ddp.timeout_s <= 0:
        found.append(f"ddp.timeout_s: {cfg.ddp.timeout_s} is not a number of seconds above 0. Set it to how long a "
                     f"process may wait for the others (the default is 600).")
    if cfg.ddp.sync_batchnorm and cpu:
        found.append("ddp.sync_batchnorm: SyncBatchNorm works only on CUDA GPUs. Set ddp.sync_batchnorm=false.")
    return found


def plugin_problems(cfg: DictConfig, base_dir: str | Path | None = None) -> list[str]:
    """Import the recipe's plugins; what went wrong, as messages."""
    try:
        plugins.load(list(cfg.plugins), base_dir=base_dir)
    except GankitError as e:
        return list(e.problems)
    return []


def component_problems(cfg: DictConfig, inherited: dict[str, str] | None = None) -> list[str]:
    """Every unknown name or bad argument among the recipe's components (plugins already loaded)."""
    ctx = dict.fromkeys(DATA_CONTEXT)

    def kept(section: str) -> dict[str, str]:  # the section's arguments kept from a base recipe
        return {k[len(section) + 1:]: f for k, f in (inherited or {}).items() if k.startswith(f"{section}.")}

    node, found = plain(cfg.data), []
    try:  # `holdout` is the run's (gankit.data.holdout), not the dataset's
        node, _ = split_holdout(node, "data")
    except GankitError as e:
        found.append(str(e))
        node = {k: v for k, v in node.items() if k != "holdout"}
    found += DATASETS.check(node, "data", inherited=kept("data"))
    found += GENERATORS.check(plain(cfg.generator), "generator", ctx, inherited=kept("generator"))
    found += DISCRIMINATORS.check(plain(cfg.discriminator), "discriminator", ctx, inherited=kept("discriminator"))
    found += LOSSES.check(plain(cfg.loss), "loss", ctx, inherited=kept("loss"))
    for i, p in enumerate(cfg.penalties):
        node = plain(p)
        try:  # `interval` belongs to the phase that runs the penalty, not to the penalty
            node, _ = split_interval(node, f"penalties[{i}]")
        except GankitError as e:
            found.append(str(e))
            node = {k: v for k, v in node.items() if k != "interval"}
        found += PENALTIES.check(node, f"penalties[{i}]", ctx)
    if cfg.augment is not None:
        node = plain(cfg.augment)
        found += AUGMENTS.check(node, "augment", ctx, inherited=kept("augment")) or policy_problems(node.get("policy"), "augment.policy")
    found += metric_problems(plain(cfg.metrics))
    for net in NETS:
        found += optimizer_problems(cfg.optim[net], f"optim.{net}", kept(f"optim.{net}.args"))
    for key, node in (plain(cfg.schedules) or {}).items():
        found += schedules.node_problems(str(key), node)
    for i, node in enumerate(plain(cfg.side_jobs) or []):
        found += SIDE_JOBS.check(node, f"side_jobs[{i}]")
    return found


def policy_problems(policy: Any, key: str) -> list[str]:
    """An augment's ``policy``: comma-separated names of ``AUGMENT_POLICIES`` entries."""
    if policy is None:
        return []
    found = []
    for name in (s.strip() for s in str(policy).split(",")):
        if name and name not in AUGMENT_POLICIES:
            try:
                AUGMENT_POLICIES.entry(name, key)
            except GankitError as e:
                found.append(f"{e} Write a comma-separated subset of: {', '.join(AUGMENT_POLICIES.names())}.")
    return found


def metric_problems(nodes) -> list[str]:
    found = []
    for i, node in enumerate(nodes or []):
        node = {"name": node} if isinstance(node, str) else node
        more = METRICS.check(node, f"metrics[{i}]")
        if not more and node.get("features") is not None:
            try:
                FEATURES.entry(node["features"], f"metrics[{i}].features")
            except GankitError as e:
                more.append(str(e))
        found += more
    return found


def optimizer_problems(ocfg, key: str, inherited: dict[str, str] | None = None) -> list[str]:
    """``optim.<net>``: the optimizer's name and ``args``."""
    args = plain(ocfg.args) or {}
    found = [f"{key}.args.{k}: set {key}.{k} instead (the trainer passes it to every optimizer)."
             if k in ("lr", "betas", "weight_decay") else
             f"{key}.args.{k}: supplied by the trainer; remove it."
             for k in args if k in OPTIMIZER_CONTEXT]
    if not found:
        found += OPTIMIZERS.check({"name": ocfg.name, **args}, key, dict.fromkeys(OPTIMIZER_CONTEXT),
                                  args_key=f"{key}.args", inherited=inherited or {})
    return found


def plain(node):
    """A recipe node as plain Python data (resolved)."""
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
