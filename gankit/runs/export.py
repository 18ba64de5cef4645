"""``export_generator(run_or_checkpoint, out)``: a run's generator as a portable model folder.

The folder (``gankit.runs.model_folder``) holds the generator's weights (the EMA copy when the
run kept one), config.json (what rebuilds it, the recipe, the final metrics), a sample grid and a
model card; ``gankit.load_generator(out)`` and ``push_to_hub(out, "user/repo")`` take it as it is.
It is written to a temporary folder beside ``out`` and renamed into place, so a crash leaves no
half export. Over an earlier export (``overwrite``) only the export's own files are replaced, each
atomically and config.json last; every other file in ``out`` (a Hub clone's .git/, notes) stays.
"""
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from gankit import __version__
from gankit.config import yaml_files
from gankit.config.locations import is_path_argument
from gankit.errors import GankitError
from gankit.metrics.draws import class_count, draw_labels
from gankit.models.base import is_conditional
from gankit.runs import provenance
from gankit.runs.curves import is_number
from gankit.runs.pages import metric_name
from gankit.runs.grids import columns
from gankit.runs.inference import load_generator, resolve_checkpoint, sample, truncation_kind
from gankit.runs.model_card import render_card
from gankit.runs.model_folder import (CARD_FILE, CONFIG_FILE, FILES, FORMAT, FORMAT_VERSION, GRID_FILE, is_model_folder,
                                      read_config, write_config, write_weights)
from gankit.store import state as state_file
from gankit.store.files import (EMA_FILE, METRICS_FILE, RECIPE_FILE, STATE_FILE, check_path, disk_errors_of, fsync_dir, fsync_tree,
                                size_of, swap_in)
from gankit.store.grids import save_grid
from gankit.store.metrics import EVAL_PREFIX, read_metrics

GRID_SEED, GRID_SIZE = 0, 64
NOT_METRICS = ("eval_s", "floor_n")


def export_generator(source: str | Path, out: str | Path, *, ema: bool | None = None, overwrite: bool = False,
                     trust_plugins: bool = False) -> Path:
    """Write the generator of a run (latest checkpoint) or of one checkpoint as a model folder ``out``
    (``trust_plugins``: as for ``load_generator``)."""
    check_out(Path(out), overwrite)  # before the (slower) loading
    G, config = load_with_config(source, ema, trust_plugins)
    return write_model_folder(G, config, out, overwrite=overwrite)


def load_with_config(source: str | Path, ema: bool | None = None,
                     trust_plugins: bool = False) -> tuple[nn.Module, dict]:
    """The generator of a run or checkpoint and the config.json that describes it."""
    run_dir, ck = resolve_checkpoint(source)
    G = load_generator(ck, ema=ema, trust_plugins=trust_plugins)  # loads the recipe's plugins too
    stored = yaml_files.read(run_dir / RECIPE_FILE, "export")  # resolved and checked by now
    state = state_file.read(ck)
    node = stored["generator"]
    use_ema = (ck / EMA_FILE).is_file() if ema is None else ema
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "gankit_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "generator": node, "img_shape": list(G.img_shape),
        "num_classes": int(state.num_classes or class_count(G)), "z_dim": int(G.z_dim),
        "conditional": is_conditional(G), "truncation": truncation_kind(G), "weights": "ema" if use_ema else "raw",
        "plugins": provenance.record(node),
        "trained": {"run": run_dir.resolve().name, "checkpoint": ck.name, "step": state.step},
        "metrics": final_metrics(run_dir / METRICS_FILE, state.step),
        "recipe": shareable(stored),
    }
    return G, config


def shareable(recipe):
    """The recipe as a model folder shows it to others: each absolute local path (a data root, a plugin
    file) cut to its last part, so a folder pushed to the Hub names no one's home folder."""
    if isinstance(recipe, dict):
        return {k: (Path(v).name if isinstance(v, str) and (is_path_argument(k) or k == "plugins")
                    and Path(v).is_absolute() else shareable(v)) for k, v in recipe.items()}
    if isinstance(recipe, list):
        return [Path(v).name if isinstance(v, str) and v.endswith(".py") and Path(v).is_absolute() else shareable(v)
                for v in recipe]
    return recipe


def final_metrics(path: Path, step: int | None = None) -> dict:
    """{metric: {"value", "step", "label"}}: the last evaluation of each metric at or before ``step``, and what it
    is (``fd (lenet_mnist, 10k vs 10k)``; its name for a run that did not log it)."""
    out = {}
    evals = read_metrics(path).evals
    for i, row in enumerate(evals):
        if step is not None and is_number(row.get("step")) and row["step"] > step:
            continue
        for k, v in row.items():
            name = k[len(EVAL_PREFIX):]
            if k.startswith(EVAL_PREFIX) and is_number(v) and name not in NOT_METRICS:
                out[name] = {"value": v, "step": row["step"], "label": metric_name(evals[:i + 1], name)}
    return out


def grid_draw(G: nn.Module) -> tuple[int, torch.Tensor | None]:
    """How many samples the model card shows (8×8; whole rows of classes for a conditional G) and their labels."""
    classes = class_count(G) if is_conditional(G) else 0
    n = classes * max(1, GRID_SIZE // classes) if 0 < classes <= GRID_SIZE else GRID_SIZE
    return n, draw_labels(G, n)


def write_model_folder(G: nn.Module, config: dict, out: str | Path, *, overwrite: bool = False) -> Path:
    """Weights, config.json, samples.png and README.md of ``G`` in the folder ``out`` (made atomically)."""
    out = Path(out)
    check_out(out, overwrite)
    tmp = out.parent / f".tmp-{out.name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    weight_bytes = sum(t.numel() * t.element_size() for t in G.state_dict().values())
    try:
        with disk_errors_of(out, lambda: max(weight_bytes, size_of(tmp))):  # a full disk: DiskFull, no half folder
            tmp.mkdir()
            n, labels = grid_draw(G)
            save_grid(sample(G, n, GRID_SEED, labels), tmp / GRID_FILE, columns(n, labels))
            config = {**config, "grid": {"seed": GRID_SEED, "num": n}}
            write_weights(G, tmp)
            write_config(config, tmp)
            (tmp / CARD_FILE).write_text(render_card(config), encoding="utf-8")
            if out.is_dir() and any(out.iterdir()):
                replace_files(tmp, out)
            else:
                swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def replace_files(tmp: Path, out: Path) -> None:
    """Move the export's files (``FILES``) from ``tmp`` over those in ``out``, each atomically, config.json
    last (until then ``out`` reads as the earlier export); nothing else in ``out`` is touched."""
    fsync_tree(tmp)
    for name in sorted(FILES, key=lambda n: n == CONFIG_FILE):
        if (tmp / name).is_file():
            os.replace(tmp / name, out / name)
        else:
            (out / name).unlink(missing_ok=True)
    fsync_dir(out)
    shutil.rmtree(tmp, ignore_errors=True)


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse an OUT that cannot take the folder (the error says why and what to do)."""
    check_path(out, "OUT")
    if not out.parent.is_dir():
        raise GankitError(f"OUT: folder {out.parent} does not exist. Create it or choose another path.")
    if out.exists() and not out.is_dir():
        raise GankitError(f"OUT: {out} is a file. The safetensors export is a folder; give a new folder name.")
    held = [name for name in (RECIPE_FILE, STATE_FILE) if (out / name).is_file()]
    if out.is_dir() and held:
        raise GankitError(f"OUT: {out} is a run directory or a checkpoint (it holds {held[0]}); an export there would "
                          f"mix its files with the run's. Give a folder of its own, e.g. {out.name}-export.")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise GankitError(f"OUT: {out} exists and is not empty. Choose a new folder, or pass --overwrite to "
                              f"replace an earlier export there (its other files stay).")
        ours = [name for name in FILES if (out / name).exists()]
        if ours and not _is_export(out):
            raise GankitError(f"OUT: {out} holds {', '.join(ours)} but no earlier gankit export, so --overwrite "
                              f"does not replace them. Choose a new folder, or move those files away.")


def _is_export(folder: Path) -> bool:
    try:
        read_config(folder)
    except GankitError:
        return False
    return is_model_folder(folder)
