"""Checking a recipe without training: ``gankit check`` and the preflight of ``gankit train``.

``check(path, overrides)`` goes as far as it can and reports every problem it finds at once:
schema and values, plugins, every component name and argument, the data (built), G's output
against the data's shape, D on it (one forward and backward on a tiny batch), precision on
this machine. With no problem it returns a ``Report`` (parameter counts, data size, an
estimated time per epoch from a few timed training steps); otherwise it raises one
``GankitError`` listing them all.

``preflight(parts, cfg)`` is the cheap part the trainer runs before its first step.
"""
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gankit.errors import GankitError, raise_if


@dataclass
class Report:
    recipe: str
    device: str
    data: str
    img_shape: tuple
    num_images: int
    g_params: int
    d_params: int
    steps_per_epoch: int
    total_steps: int
    step_s: float | None = None  # seconds per training step (median of the timed steps)
    notes: list[str] = field(default_factory=list)

    @property
    def epoch_s(self) -> float | None:
        return None if self.step_s is None else self.step_s * self.steps_per_epoch

    def render(self) -> str:
        c, h, w = self.img_shape
        lines = [
            f"recipe {self.recipe}: OK",
            f"  data        {self.data}: {self.num_images} images of {c}×{h}×{w}",
            f"  generator   {self.g_params:,} parameters",
            f"  critic      {self.d_params:,} parameters",
            f"  schedule    {self.steps_per_epoch} steps per epoch, {self.total_steps} steps in all",
            f"  device      {self.device}",
        ]
        if self.step_s is not None:
            lines.append(f"  timing      {self.step_s * 1000:.1f} ms per step → about {_duration(self.epoch_s)} "
                         f"per epoch, {_duration(self.step_s * self.total_steps)} for the run")
        lines += [f"  note        {n}" for n in self.notes]
        return "\n".join(lines)


def check(path: str | Path, overrides=(), *, timed_steps: int = 3) -> Report:
    """Validate a recipe file with overrides, build its parts and try them; see the module doc."""
    from gankit.config import plugins
    from gankit.config import recipe
    from gankit.training.parts import build_data, build_parts, check_components, run_length
    from gankit.training.run import absolute_plugins

    path = Path(path)
    try:
        cfg = recipe.load(path, list(overrides))
    except GankitError as e:
        # The schema failed; still report the component mistakes in the same message if we can.
        more = _raw_component_problems(path, overrides)
        raise GankitError.collect(_dedupe(e.problems + more), _header(e.problems + more)) from None
    cfg = absolute_plugins(cfg, path.parent)

    problems = config_problems(cfg)
    try:
        plugins.load(list(cfg.plugins), base_dir=path.parent)
    except GankitError as e:
        problems += e.problems
    except Exception as e:  # the plugin's own code failed while importing
        problems.append(f"plugins: importing the plugins {list(cfg.plugins)} failed: {type(e).__name__}: {e}")
    else:
        problems += check_components(cfg)
    raise_if(problems, _header(problems))

    data = build_data(cfg)  # a missing folder or file raises here, naming data.root
    t = cfg.trainer
    if len(data) < t.batch_size:
        problems.append(f"trainer.batch_size: {t.batch_size} is more than the {len(data)} images of the data "
                        f"({cfg.data.name}). Lower trainer.batch_size or use more data.")
    parts = build_parts(cfg, data)
    problems += shape_problems(parts, backward=True, data_name=cfg.data.name)
    raise_if(problems, _header(problems))

    steps_per_epoch, total = run_length(len(data), t)
    report = Report(
        recipe=str(path), device="", data=str(cfg.data.name), img_shape=tuple(data.img_shape),
        num_images=len(data), g_params=_count(parts.G), d_params=_count(parts.D),
        steps_per_epoch=steps_per_epoch, total_steps=total,
    )
    report.step_s, report.device = _time_steps(cfg, timed_steps) if timed_steps > 0 else (None, _device(cfg))
    if t.precision == "auto":
        from gankit.training.accel import resolve_precision

        report.notes.append(f"precision auto → {resolve_precision('auto', report.device == 'cpu')} on this machine.")
    if t.precision == "bf16" and report.device == "cpu":
        report.notes.append("bf16 on a CPU: Linear/Conv run in bf16, the rest in fp32.")
    return report


def config_problems(cfg) -> list[str]:
    """Settings this machine cannot honour (checked before anything is built)."""
    problems = []
    cpu = cfg.trainer.cpu or not torch.cuda.is_available()
    if cfg.trainer.precision == "fp16" and cpu:
        problems.append("trainer.precision: fp16 needs a CUDA GPU (on a CPU it would silently train in fp32). "
                        "Use trainer.precision=bf16 or no on this machine.")
    if cfg.ddp.sync_batchnorm and cpu:
        problems.append("ddp.sync_batchnorm: SyncBatchNorm works only on CUDA GPUs. Set ddp.sync_batchnorm=false.")
    return problems


def preflight(parts, cfg=None) -> None:
    """Run G and D once on a tiny batch (no gradients, eval mode: nothing changes) and raise on a mismatch."""
    name = cfg.data.name if cfg is not None else "?"
    raise_if(shape_problems(parts, backward=False, data_name=name), "The models do not fit the data:")


def shape_problems(parts, *, backward: bool, n: int = 2, data_name: str = "?") -> list[str]:
    """G's output must have the data's image shape, and D must give one logit per image.

    ``backward=True`` (``gankit check``) also runs D's loss backward through G, in train mode,
    on throwaway models; ``backward=False`` (the training preflight) runs both in eval mode
    under ``no_grad``, so running statistics and weights stay exactly as they were.
    """
    G, D, data = parts.G, parts.D, parts.data
    want = tuple(data.img_shape)
    g_cond, d_cond = bool(getattr(G, "conditional", False)), bool(getattr(D, "conditional", False))
    device = next((p.device for p in G.parameters()), torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)  # not the global RNG: training must see the same random stream
    z = torch.randn(n, G.z_dim, generator=gen).to(device)
    y = torch.randint(0, max(1, data.num_classes), (n,), generator=gen).to(device)
    modes = (G.training, D.training)
    problems = []
    try:
        G.train(backward), D.train(backward)
        with torch.set_grad_enabled(backward):
            try:
                fake = G(z, y) if g_cond else G(z)
            except Exception as e:
                return [f"generator: generator '{_name(G)}' failed on a batch of {n} latents "
                        f"(z_dim={G.z_dim}): {type(e).__name__}: {_first(e)}"]
            if not isinstance(fake, torch.Tensor) or tuple(fake.shape[1:]) != want or fake.shape[0] != n:
                got = tuple(fake.shape[1:]) if isinstance(fake, torch.Tensor) else type(fake).__name__
                return [f"generator: generator '{_name(G)}' makes images of shape {got} but the data "
                        f"(data.name: {data_name}) has {want}. Choose a generator for that size "
                        f"or change the data (e.g. data.image_size / data.channels)."]
            try:
                out = D(fake, y) if d_cond else D(fake)
            except Exception as e:
                return [f"discriminator: discriminator '{_name(D)}' cannot take the images {want} of the data: "
                        f"{type(e).__name__}: {_first(e)}. Choose a discriminator for that image size."]
            logits = out[0] if isinstance(out, tuple) else out
            if not isinstance(logits, torch.Tensor) or logits.numel() != n:
                got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                problems.append(f"discriminator: discriminator '{_name(D)}' returned {got} for {n} images; "
                                f"it must return one logit per image (shape ({n},)).")
            elif backward:
                logits.float().mean().backward()
                if all(p.grad is None for p in G.parameters()):
                    problems.append(f"generator: no gradient reaches generator '{_name(G)}' through the "
                                    f"discriminator; its output must stay in the autograd graph.")
    finally:
        G.train(modes[0]), D.train(modes[1])
        if backward:
            G.zero_grad(set_to_none=True), D.zero_grad(set_to_none=True)
    return problems


def _time_steps(cfg, n: int) -> tuple[float, str]:
    """Median seconds per training step over ``n`` steps (after one warm-up) in a throwaway run."""
    import tempfile

    from gankit.training.trainer import Trainer

    with tempfile.TemporaryDirectory(prefix="gankit-check-") as tmp:
        tr = Trainer(cfg, Path(tmp) / "run")
        times = []
        for i in range(n + 1):
            t0 = time.perf_counter()
            stats = tr.iteration()
            stats.sum().item()  # wait for the device
            tr.state.step += 1
            if i:
                times.append(time.perf_counter() - t0)
        times.sort()
        return times[len(times) // 2], str(tr.acc.device)


def _raw_component_problems(path: Path, overrides) -> list[str]:
    """Component problems of a recipe whose schema is broken, read from the raw YAML (best effort)."""
    from gankit.config import plugins
    from gankit.config import recipe
    from gankit.config.registry import DATASETS, DISCRIMINATORS, GENERATORS, LOSSES

    try:
        raw = recipe._load_chain(path, [])
        if any(str(o).split("=", 1)[0].strip().split(".")[0] in ("generator", "discriminator", "loss", "data",
                                                                  "plugins") for o in overrides):
            return []  # overrides would change the components: too unsure to say more
        specs = raw.get("plugins") or []
        if specs and not isinstance(specs, list):
            return []
        plugins.load(specs, base_dir=path.parent)
    except Exception:
        return []
    problems = []
    t = raw.get("trainer")
    if isinstance(t, dict) and t.get("precision") == "fp16" and (t.get("cpu") or not torch.cuda.is_available()):
        problems.append("trainer.precision: fp16 needs a CUDA GPU (on a CPU it would silently train in fp32). "
                        "Use trainer.precision=bf16 or no on this machine.")
    ctx = {"img_shape": None, "num_classes": None, "z_dim": None}
    defaults = {"generator": "dcgan_mnist", "discriminator": "dcgan_mnist", "loss": "non_saturating", "data": "mnist"}
    for key, reg in (("data", DATASETS), ("generator", GENERATORS), ("discriminator", DISCRIMINATORS),
                     ("loss", LOSSES)):
        node = raw.get(key, {"name": defaults[key]})
        if isinstance(node, dict):
            node = {"name": defaults[key], **node}
            problems += reg.check(node, key, {} if key == "data" else ctx)
    return problems


def _device(cfg) -> str:
    return "cpu" if cfg.trainer.cpu or not torch.cuda.is_available() else "cuda"


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _name(model) -> str:
    return type(model).__name__


def _first(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _header(problems: list[str]) -> str:
    return f"The recipe has {len(problems)} problem(s):" if len(problems) > 1 else ""


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"
