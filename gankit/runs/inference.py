"""Trained generators: ``load_generator(source)`` and ``sample(G, n, seed, truncation=1.0)``.

A source is a run directory, one of its checkpoints, an exported folder (``gankit export``,
``gankit.runs.model_folder``) or a Hugging Face Hub repo id (``user/repo``, ``gankit.runs.hub``).
Only safetensors and JSON are read (no pickle): a run's generator is the first model accelerate
saved (``model.safetensors``), or its EMA copy (``ema.safetensors``) when the run kept one.

Truncation trades variety for typical samples. A generator with a mapping network (a ``w_avg``
buffer and ``forward(z, labels=None, truncation_psi=1.0)``, StyleGAN's protocol) moves each w
towards the mean w: ``w_avg + ψ (w − w_avg)``. Every other generator gets the same move in z,
towards the mean latent 0: ``z ← ψ z`` (scaling, not resampling, so image i of a seed stays the
same latent direction for every ψ and the draw stays a function of the seed alone).
"""
import inspect
import math
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from gankit.config import plugin_trust
from gankit.config import plugins as plugins_module
from gankit.config import recipe, validate
from gankit.config.registry import GENERATORS
from gankit.config.validate import ValidRecipe, validated
from gankit.data.build import build_data
from gankit.errors import GankitError
from gankit.metrics.draws import draw_labels, latents
from gankit.runs import hub
from gankit.runs.model_folder import is_model_folder, load_folder
from gankit.store import intact
from gankit.store import state as state_file
from gankit.store.files import CHECKPOINTS_DIR, EMA_FILE, MODEL_FILE, RECIPE_FILE, STATE_FILE, check_path
from gankit.store.weights import check_before_building, check_weights


def resolve_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """(run dir, checkpoint dir) for a run dir (its newest intact checkpoint) or a checkpoint dir."""
    p = check_path(Path(path).expanduser(), "RUN_DIR_OR_CHECKPOINT")
    if not p.exists():
        raise GankitError(f"{path}: no such run or checkpoint directory. Give a run directory (with {RECIPE_FILE}), "
                          f"one of its checkpoints/step-* folders, a folder written by `gankit export` or a Hugging "
                          f"Face Hub repo id (user/repo).")
    if (p / STATE_FILE).is_file() or p.parent.name == CHECKPOINTS_DIR:
        return p.parent.parent, _intact_checkpoint(p)
    if (p / RECIPE_FILE).is_file():
        if not intact.step_dirs(p):
            raise GankitError(f"{path}: this run has no complete checkpoint yet (nothing under {p / CHECKPOINTS_DIR}). "
                              f"Train it longer, or wait for its first checkpoint.")
        chosen, note = intact.choose(p, _run_fingerprint(p), str(path), resuming=False)
        if note:  # the damaged newer ones are left in place
            warnings.warn(note, RuntimeWarning, stacklevel=2)
        return p, chosen
    raise GankitError(f"{path}: not a gankit run (no {RECIPE_FILE}), a checkpoint (no {STATE_FILE}) nor an exported "
                      f"generator (no config.json with model.safetensors). Give a run directory, one of its "
                      f"checkpoints/step-* folders or a folder written by `gankit export`.")


def _intact_checkpoint(ck: Path) -> Path:
    """A checkpoint named on its own: refused, with the reason, when it is damaged."""
    why = intact.problem(ck, _run_fingerprint(ck.parent.parent), pickles=False)
    if why:
        raise GankitError(f"checkpoint {ck}: {why}. Use another checkpoint, or give the run directory "
                          f"{ck.parent.parent} (its newest intact checkpoint is used).")
    return ck


def _run_fingerprint(run_dir: Path) -> str | None:
    """The fingerprint of a run's stored recipe (None when it cannot be read: loading the run says why)."""
    try:
        return recipe.fingerprint(recipe.load(run_dir / RECIPE_FILE))
    except GankitError:
        return None


def _recipe_file(run_dir: Path) -> Path:
    recipe_path = run_dir / RECIPE_FILE
    if not recipe_path.is_file():
        raise GankitError(f"{run_dir}: {RECIPE_FILE} is missing, so the generator cannot be rebuilt. "
                          f"Give a checkpoint inside a complete run directory.")
    return recipe_path


def run_source(run_dir: Path, trust_plugins: bool = False) -> plugin_trust.Source:
    """A run directory as the source of the plugins its recipe names (``gankit.config.plugin_trust.vet``)."""
    return plugin_trust.Source(Path(run_dir), plugin_trust.RUN, trust_plugins)


def load_run_recipe(run_dir: Path, trust_plugins: bool = False):
    """The recipe stored in a run, with its plugins loaded as ``plugin_trust.vet`` allows (so its components can
    be built)."""
    cfg = plugin_trust.vetted(recipe.load(_recipe_file(run_dir)), run_source(run_dir, trust_plugins))
    plugins_module.load(list(cfg.plugins))
    return cfg


def valid_run_recipe(run_dir: Path, overrides=(), trust_plugins: bool = False) -> ValidRecipe:
    """The recipe stored in a run, with ``overrides``, validated once for evaluating the run (its plugins
    imported as ``plugin_trust.vet`` allows; the settings only training needs this machine to honour are not
    checked)."""
    return validate.load(_recipe_file(run_dir), overrides, for_training=False,
                         source=run_source(run_dir, trust_plugins))


TRUST_PLUGINS_HELP = ("run the plugin code the folder or run names: a plugin file inside it, a module of an "
                      "installed package, a run's module from the working directory; never a file outside it "
                      "(docs/sharing.md)")
DEVICE_HELP = "auto (cuda when available, else cpu), cpu, cuda or cuda:N (default auto)"


def resolve_device(name: str = "auto", key: str = "--device") -> str:
    """``auto`` → ``cuda`` when a GPU is available, else ``cpu``; a CUDA device without CUDA is refused."""
    name = str(name).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GankitError(f"{key}: '{name}' asked for, but this machine has no usable CUDA GPU. Use {key} cpu "
                          f"(or {key} auto).")
    try:
        return str(torch.device(name))
    except RuntimeError:
        raise GankitError(f"{key}: '{name}' is not a device. Use auto, cpu, cuda or cuda:N.") from None


def load_generator(source: str | Path, device="cpu", ema: bool | None = None, *, revision: str | None = None,
                   plugins=(), trust_plugins: bool = False) -> nn.Module:
    """The trained generator of a run (latest checkpoint), a checkpoint, an exported folder or a Hub
    repo id (``user/repo``: downloaded into the Hub cache, or read from it offline), in eval mode.

    ``ema``: None = the EMA weights when the checkpoint has them, else the trained weights.
    ``revision``: a Hub branch, tag or commit. ``plugins``: plugin files or modules to load first
    (a generator from a single-file plugin needs its file; the error says which). ``trust_plugins``: also
    run the plugin code the folder or run names, within ``gankit.config.plugin_trust.vet``'s rule (without it,
    a folder runs none, and a run only its modules of installed packages and the absolute plugin paths
    its training stored; docs/sharing.md).
    """
    path = Path(source).expanduser()
    if is_model_folder(path):
        return load_folder(path, device, ema, plugins, trust_plugins=trust_plugins)
    if not path.exists() and hub.looks_like_repo_id(source):
        return load_folder(hub.download(source, revision), device, ema, plugins, where=f"Hub repo '{source}'",
                           trust_plugins=trust_plugins)
    run_dir, ck = resolve_checkpoint(source)
    plugins_module.load(list(plugins or ()))
    cfg = load_run_recipe(run_dir, trust_plugins)
    state = state_file.read(ck)
    if state.img_shape is not None:
        ctx = {"img_shape": tuple(state.img_shape), "num_classes": state.num_classes or 0}
    else:  # checkpoints from before img_shape was stored: read the shape from the recipe's data
        data = build_data(validated(cfg, run_dir, for_training=False))
        ctx = {"img_shape": tuple(data.img_shape), "num_classes": data.num_classes}
    use_ema = (ck / EMA_FILE).is_file() if ema is None else ema
    weights = ck / (EMA_FILE if use_ema else MODEL_FILE)
    if not weights.is_file():
        raise GankitError(f"checkpoint {ck}: {weights.name} is missing. The checkpoint is incomplete; use another one.")
    fix = "The file is damaged or belongs to another generator; use another checkpoint."
    check_before_building(lambda: GENERATORS.build(cfg.generator, "generator", ctx), weights, f"checkpoint {ck}", fix)
    G = GENERATORS.build(cfg.generator, "generator", ctx)
    check_weights(G.state_dict(), weights, f"checkpoint {ck}", fix)
    try:
        G.load_state_dict(load_file(str(weights)))
    except Exception as e:  # safetensors and load_state_dict raise several types
        raise GankitError(f"checkpoint {ck}: cannot load the generator from {weights.name} "
                          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). The file is damaged "
                          f"or belongs to another generator; use another checkpoint.") from None
    G.img_shape = ctx["img_shape"]
    return G.to(device).eval().requires_grad_(False)


def sample(generator: nn.Module, n: int, seed: int = 0, labels: torch.Tensor | None = None,
           batch_size: int = 500, truncation: float = 1.0) -> torch.Tensor:
    """``n`` images in [-1, 1] (CPU float) from latents seeded by ``seed``; a conditional G gets
    ``labels`` (default: i % num_classes). ``truncation``: ψ in [0, 1] (1 = none; see the module doc)."""
    if n < 1:
        raise GankitError(f"sample: the number of images must be ≥ 1, got {n}.")
    if labels is None:
        labels = draw_labels(generator, n)
    return generate(generator, latents(n, generator.z_dim, seed), labels, truncation, batch_size)


def check_truncation(psi, flag: str = "truncation") -> float:
    """ψ as a float, refused unless 0 ≤ ψ ≤ 1."""
    try:
        value = float(psi)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise GankitError(f"{flag}: ψ must be a number from 0 to 1 (1 = no truncation, 0 = the mean image), "
                          f"got {psi!r}.")
    return value


def truncation_kind(generator: nn.Module) -> str:
    """"w" for a generator with a mapping network (``w_avg`` and a ``truncation_psi`` argument), else "z"."""
    try:
        takes_psi = "truncation_psi" in inspect.signature(generator.forward).parameters
    except (TypeError, ValueError):
        takes_psi = False
    return "w" if takes_psi and hasattr(generator, "w_avg") else "z"


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0,
             batch_size: int = 500) -> torch.Tensor:
    """Images in [-1, 1] (CPU float) from the given latents (N, z_dim), truncated by ψ = ``truncation``."""
    psi = check_truncation(truncation)
    kind = truncation_kind(generator) if psi != 1.0 else None
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    out = []
    try:
        for i in range(0, z.shape[0], batch_size):
            y = None if labels is None else labels[i:i + batch_size].to(device)
            zb = z[i:i + batch_size].to(device)
            if kind == "w":
                x = generator(zb, y, truncation_psi=psi)
            else:
                x = generator(zb * psi if kind == "z" else zb, y)
            out.append(x.float().clamp(-1, 1).cpu())
    finally:
        generator.train(was_training)
    return torch.cat(out)
