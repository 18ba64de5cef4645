"""Generators from trained runs: ``load_generator(run_or_checkpoint)`` and ``sample(G, n, seed)``.

Only safetensors and JSON are read (no pickle): the generator is the first model accelerate
saved (``model.safetensors``), or its EMA copy (``ema.safetensors``) when the run kept one.
"""
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from gankit.config import plugins, recipe
from gankit.config.registry import GENERATORS
from gankit.errors import GankitError
from gankit.metrics.draws import draw_labels, latents
from gankit.runs.files import CHECKPOINTS_DIR, EMA_FILE, MODEL_FILE, RECIPE_FILE, STATE_FILE
from gankit.training import checkpoint as ckpt
from gankit.training.parts import build_data


def resolve_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """(run dir, checkpoint dir) for a run dir (its latest checkpoint) or a checkpoint dir."""
    p = Path(path).expanduser()
    if not p.exists():
        raise GankitError(f"{path}: no such run or checkpoint directory. Give a run directory (with {RECIPE_FILE}) "
                          f"or one of its checkpoints/step-* folders.")
    if (p / STATE_FILE).is_file():
        return p.parent.parent, p
    if (p / RECIPE_FILE).is_file():
        last = ckpt.latest(p)
        if last is None:
            raise GankitError(f"{path}: this run has no complete checkpoint yet (nothing under {p / CHECKPOINTS_DIR}). "
                              f"Train it longer, or wait for its first checkpoint.")
        return p, last
    raise GankitError(f"{path}: not a gankit run (no {RECIPE_FILE}) nor a checkpoint (no {STATE_FILE}). "
                      f"Give a run directory or one of its checkpoints/step-* folders.")


def load_run_recipe(run_dir: Path):
    """The recipe stored in a run, with its plugins loaded (so its components can be built)."""
    recipe_path = run_dir / RECIPE_FILE
    if not recipe_path.is_file():
        raise GankitError(f"{run_dir}: {RECIPE_FILE} is missing, so the generator cannot be rebuilt. "
                          f"Give a checkpoint inside a complete run directory.")
    cfg = recipe.load(recipe_path)
    plugins.load(list(cfg.plugins), base_dir=run_dir)
    return cfg


def load_generator(run_dir_or_checkpoint: str | Path, device="cpu", ema: bool | None = None) -> nn.Module:
    """The trained generator of a run (latest checkpoint) or of one checkpoint, in eval mode.

    ``ema``: None = the EMA weights when the checkpoint has them, else the trained weights.
    """
    run_dir, ck = resolve_checkpoint(run_dir_or_checkpoint)
    cfg = load_run_recipe(run_dir)
    state = ckpt.read_state(ck)
    if "img_shape" in state:
        ctx = {"img_shape": tuple(state["img_shape"]), "num_classes": state.get("num_classes", 0)}
    else:  # checkpoints from before img_shape was stored: read the shape from the recipe's data
        data = build_data(cfg)
        ctx = {"img_shape": tuple(data.img_shape), "num_classes": data.num_classes}
    G = GENERATORS.build(cfg.generator, "generator", ctx)
    use_ema = (ck / EMA_FILE).is_file() if ema is None else ema
    weights = ck / (EMA_FILE if use_ema else MODEL_FILE)
    if not weights.is_file():
        raise GankitError(f"checkpoint {ck}: {weights.name} is missing. The checkpoint is incomplete; use another one.")
    try:
        G.load_state_dict(load_file(str(weights)))
    except Exception as e:  # safetensors and load_state_dict raise several types
        raise GankitError(f"checkpoint {ck}: cannot load the generator from {weights.name} "
                          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). The file is damaged "
                          f"or belongs to another generator; use another checkpoint.") from None
    G.img_shape = ctx["img_shape"]
    return G.to(device).eval().requires_grad_(False)


@torch.no_grad()
def sample(generator: nn.Module, n: int, seed: int = 0, labels: torch.Tensor | None = None,
           batch_size: int = 500) -> torch.Tensor:
    """``n`` images in [-1, 1] (CPU float) from latents seeded by ``seed``; a conditional G gets
    ``labels`` (default: i % num_classes)."""
    if n < 1:
        raise GankitError(f"sample: the number of images must be ≥ 1, got {n}.")
    device = next(generator.parameters()).device
    if labels is None:
        labels = draw_labels(generator, n)
    z = latents(n, generator.z_dim, seed)
    was_training = generator.training
    generator.eval()
    out = []
    try:
        for i in range(0, n, batch_size):
            y = None if labels is None else labels[i:i + batch_size].to(device)
            x = generator(z[i:i + batch_size].to(device), y)
            out.append(x.float().clamp(-1, 1).cpu())
    finally:
        generator.train(was_training)
    return torch.cat(out)
