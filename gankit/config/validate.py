"""One validation path: everything about a recipe that can be checked without building anything.

A recipe is validated once per run, where it comes in, and what comes out is a ``ValidRecipe``:
the resolved recipe (plugin files and data paths absolute: ``gankit.config.locations``; plugins
imported), its folder, and its run-level keys
split off (``gankit.config.run_keys``). Training (``Trainer``, ``gankit train``), ``gankit check``,
``gankit bench`` and ``gankit eval`` take that and never check again; building a part reads the
registries.

``load(path, overrides)`` is ``recipe.load`` followed by the checks; ``validated(cfg, recipe_dir)``
checks a recipe already loaded (the Python API, a run's stored recipe). ``problems`` lists what
they refuse: settings this machine cannot honour, plugins that do not load, and every component
(name and arguments, through ``Registry.check``), penalty, augment policy, metric, optimizer,
schedule and side job the recipe names. For a recipe whose schema fails ``load`` still checks the rest: the
broken keys are dropped and the schema's own defaults (``gankit.config.schema.Recipe``) stand in
for them, so one message names every mistake.
"""
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gankit.config import locations, plugin_trust, plugins, recipe, recipe_files, run_keys
from gankit.config.registry import (AUGMENT_POLICIES, AUGMENTS, DATASETS, DISCRIMINATORS, FEATURES, GENERATORS,
                                    LOSSES, METRICS, OPTIMIZERS, PENALTIES, SIDE_JOBS)
from gankit.config.run_keys import PenaltySpec, RunKeys
from gankit.config.schedule_spec import node_problems
from gankit.errors import GankitError, raise_if

# Arguments the run supplies to models, losses, penalties and augments (from the data and G).
DATA_CONTEXT = ("img_shape", "num_classes", "z_dim")
# Arguments an optimizer gets from the trainer (params, device) and from its optim.<net> keys.
OPTIMIZER_CONTEXT = ("params", "lr", "betas", "weight_decay", "device")
NETS = ("g", "d")


@dataclass(frozen=True)
class ValidRecipe:
    """A recipe that passed every check of this module, with its run-level keys split off."""

    cfg: DictConfig  # resolved; plugin files and path arguments absolute (``locations``); plugins imported
    recipe_dir: Path | None  # the recipe's folder (None: a recipe made in Python)
    data: dict  # the dataset node without `holdout`
    holdout: int  # `data.holdout`: real images kept out of training
    penalties: tuple[PenaltySpec, ...]  # each `penalties[i]` node without its `interval`, and that interval
    for_training: bool = True  # whether this machine's settings were checked (False: for evaluation only)


def load(path: str | Path, overrides=(), *, for_training: bool = True,
         source: plugin_trust.Source | None = None) -> ValidRecipe:
    """Load a recipe (plugin files made absolute) and raise one error listing every problem found.

    ``for_training=False`` leaves out the settings only a training run needs this machine to honour.
    ``source``: the run directory whose stored recipe this is: its plugins are loaded only as
    ``plugin_trust.vet`` allows (never found in the working directory)."""
    path = Path(path)

    def absolute(cfg):
        return plugins.absolute_plugins(cfg, path.parent) if source is None else plugin_trust.vetted(cfg, source)

    try:
        cfg = recipe.load(path, list(overrides))
    except GankitError as e:
        partial = recipe.load_partial(path, list(overrides))
        more = [] if partial is None else _examine(absolute(partial), path.parent,
                                                   _inherited(path, overrides), for_training)[0]
        found = list(dict.fromkeys(e.problems + more))
        raise GankitError.collect(found, header(found)) from None
    return _valid(absolute(cfg), path.parent, _inherited(path, overrides), for_training)


def validated(cfg: DictConfig | ValidRecipe, recipe_dir: str | Path | None = None, *,
              for_training: bool = True) -> ValidRecipe:
    """A recipe loaded without ``load`` (the Python API, a run's stored recipe), checked once; a
    ``ValidRecipe`` comes back as it is (one checked for evaluation only gets this machine's settings
    checked before it trains). ``recipe_dir``: where relative plugin files are found; default the folder
    of the file ``recipe.load`` read ``cfg`` from (``gankit.load_recipe``), if it did."""
    if isinstance(cfg, ValidRecipe):
        if for_training and not cfg.for_training:
            found = settings_problems(cfg.cfg)
            raise_if(found, header(found))
            return replace(cfg, for_training=True)
        return cfg
    recipe_dir = Path(recipe_dir) if recipe_dir is not None else recipe.folder_of(cfg)
    return _valid(plugins.absolute_plugins(cfg, recipe_dir), recipe_dir, {}, for_training)


def _valid(cfg: DictConfig, recipe_dir: Path | None, inherited: dict[str, str], for_training: bool) -> ValidRecipe:
    found, _ = _examine(cfg, recipe_dir, inherited, for_training)
    raise_if(found, header(found))
    cfg = locations.absolute(cfg)  # now that the plugins are loaded, their components' arguments are known
    keys = split_run_keys(cfg)
    return ValidRecipe(cfg, recipe_dir, keys.data, keys.holdout, keys.penalties, for_training)


def _inherited(path: Path, overrides) -> dict[str, str]:
    try:
        return recipe_files.inherited_arguments(path, list(overrides))
    except GankitError:  # a broken chain is reported by recipe.load
        return {}


def header(found: list[str]) -> str:
    return f"The recipe has {len(found)} problem(s):" if len(found) > 1 else ""


def problems(cfg: DictConfig, base_dir: str | Path | None = None, inherited: dict[str, str] | None = None, *,
             for_training: bool = True) -> list[str]:
    """Every problem of a schema-valid recipe that shows without building: settings, plugins, names.

    ``inherited``: component arguments kept from a ``base:`` recipe (``recipe.inherited_arguments``)."""
    return _examine(cfg, base_dir, inherited or {}, for_training)[0]


def _examine(cfg: DictConfig, base_dir, inherited: dict[str, str], for_training: bool) -> tuple[list[str], RunKeys]:
    keys = split_run_keys(cfg)
    found = settings_problems(cfg) if for_training else []
    plugin = plugin_problems(cfg, base_dir)
    # Unloadable plugins would make their components look unknown: report the plugins only.
    return found + (plugin or component_problems(cfg, inherited, keys)), keys


def split_run_keys(cfg: DictConfig) -> RunKeys:
    """The recipe's run-level keys (``data.holdout``, each penalty's ``interval``) split off, problems listed."""
    return run_keys.split(plain(cfg.data), [plain(p) for p in cfg.penalties])


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


def component_problems(cfg: DictConfig, inherited: dict[str, str] | None = None,
                       keys: RunKeys | None = None) -> list[str]:
    """Every unknown name or bad argument among the recipe's components (plugins already loaded).

    ``keys``: the recipe's run-level keys, already split off (``run_keys.split``)."""
    ctx = dict.fromkeys(DATA_CONTEXT)
    keys = keys or split_run_keys(cfg)

    def kept(section: str) -> dict[str, str]:  # the section's arguments kept from a base recipe
        return {k[len(section) + 1:]: f for k, f in (inherited or {}).items() if k.startswith(f"{section}.")}

    found = list(keys.problems)  # `data.holdout` and each `interval`: the run's keys, not the components'
    found += DATASETS.check(keys.data, "data", inherited=kept("data"))
    found += GENERATORS.check(plain(cfg.generator), "generator", ctx, inherited=kept("generator"))
    found += DISCRIMINATORS.check(plain(cfg.discriminator), "discriminator", ctx, inherited=kept("discriminator"))
    found += LOSSES.check(plain(cfg.loss), "loss", ctx, inherited=kept("loss"))
    for p in keys.penalties:
        found += PENALTIES.check(p.node, p.key, ctx)
    if cfg.augment is not None:
        node = plain(cfg.augment)
        found += AUGMENTS.check(node, "augment", ctx, inherited=kept("augment")) or policy_problems(node.get("policy"), "augment.policy")
    found += metric_problems(plain(cfg.metrics))
    for net in NETS:
        found += optimizer_problems(cfg.optim[net], f"optim.{net}", kept(f"optim.{net}.args"))
    for key, node in (plain(cfg.schedules) or {}).items():
        found += node_problems(str(key), node)
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
