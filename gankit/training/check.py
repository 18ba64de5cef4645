"""Checking a recipe without training: ``gankit check``.

``check(path, overrides)`` goes as far as it can and reports every problem it finds at once:
first everything ``gankit.config.validate`` finds without building (schema and values,
settings this machine cannot honour, plugins, every component name and argument), then the
data (built), G's output against the data's shape, D on it (one forward and backward on a
tiny batch). The recipe is validated once: the parts and the timed steps take the
``ValidRecipe``. With no problem it returns a ``Report`` (parameter counts, data size, the code
the run imports besides gankit, an estimated time per epoch from a few timed training steps,
on a micro-batch and scaled where the recipe's batch would not fit the time and memory budgets:
``gankit.training.estimate``); otherwise it raises one ``GankitError`` listing them all.

The cheap part that training runs before its first step is ``gankit.training.preflight``.
"""
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gankit.config import plugins, validate
from gankit.data.build import build_data
from gankit.errors import raise_if
from gankit.training.accel import resolve_precision
from gankit.training.estimate import TIME_BUDGET_S, Timing, time_steps
from gankit.training.parts import build_parts, run_length
from gankit.training.preflight import shape_problems

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
    timing: Timing | None = None  # seconds per training step and how they were measured
    notes: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)  # what the run imports besides gankit (plugins)

    @property
    def step_s(self) -> float | None:
        return None if self.timing is None else self.timing.step_s

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
        imports = self.code or ["gankit's own components only"]
        lines += [f"  {'imports' if i == 0 else '':<12}{line}" for i, line in enumerate(imports)]
        if self.step_s is not None:
            lines.append(f"  timing      {self.step_s * 1000:.1f} ms per step → about {_duration(self.epoch_s)} "
                         f"per epoch, {_duration(self.step_s * self.total_steps)} for the run")
            lines.append(f"  timed       {self.timing.how}")
        lines += [f"  note        {n}" for n in self.notes]
        return "\n".join(lines)


def check(path: str | Path, overrides=(), *, timed_steps: int = 3, time_budget_s: float = TIME_BUDGET_S,
          memory_budget: int | None = None) -> Report:
    """Validate a recipe file with overrides, build its parts and try them; see the module doc.
    ``time_budget_s``, ``memory_budget``: what timing the steps may take (``gankit.training.estimate``)."""
    path = Path(path)
    valid = validate.load(path, overrides)  # schema, settings, plugins, names: one error listing them all
    cfg = valid.cfg

    problems = []
    data = build_data(valid)  # a missing folder or file raises here, naming data.root
    t = cfg.trainer
    if len(data) < t.batch_size:
        problems.append(f"trainer.batch_size: {t.batch_size} is more than the {len(data)} images of the data "
                        f"({cfg.data.name}). Lower trainer.batch_size or use more data.")
    parts = build_parts(valid, data)
    problems += shape_problems(parts, backward=True, data_name=cfg.data.name)
    raise_if(problems, validate.header(problems))

    steps_per_epoch, total = run_length(len(data), t)
    report = Report(
        recipe=str(path), device="", data=str(cfg.data.name), img_shape=tuple(data.img_shape),
        num_images=len(data), g_params=_count(parts.G), d_params=_count(parts.D),
        steps_per_epoch=steps_per_epoch, total_steps=total, code=plugins.imported_code(cfg.plugins),
    )
    if timed_steps > 0:
        report.timing = time_steps(valid, timed_steps, time_budget_s=time_budget_s, memory_budget=memory_budget)
    report.device = report.timing.device if report.timing else _device(cfg)
    if t.precision == "auto":
        report.notes.append(f"precision auto → {resolve_precision('auto', report.device == 'cpu')} on this machine.")
    if t.precision == "bf16" and report.device == "cpu":
        report.notes.append("bf16 on a CPU: Linear/Conv run in bf16, the rest in fp32.")
    return report


def _device(cfg) -> str:
    return "cpu" if cfg.trainer.cpu or not torch.cuda.is_available() else "cuda"


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"
