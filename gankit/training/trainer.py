"""The training loop on accelerate.

``Trainer(recipe, run_dir)`` builds the parts, prepares them and turns the recipe's method into a
list of phases (``method.gan_phases``). ``step`` runs those phases; ``fit`` loops over steps, and
after each one runs every side job that is due (``side_jobs``: the logbook, sample grids,
evaluation, the recipe's own side jobs, checkpoints, the stop flag), in that order.
"""
import contextlib
import math
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import set_seed
from omegaconf import DictConfig

from gankit.config.recipe import fingerprint as recipe_fingerprint
from gankit.config.validate import ValidRecipe, validated
from gankit.data.batches import BatchStream, NoiseStream
from gankit.errors import GankitError
from gankit.metrics.evaluation import Evaluator
from gankit.models.base import is_conditional, uses_labels
from gankit.store.state import CheckpointState, TrainState
from gankit.training.accel import loss_scale, make_accelerator, resolve_compile
from gankit.training.checkpoint import Checkpointer
from gankit.training.ema import EMA
from gankit.training.guard import NonFiniteGuard
from gankit.training.logbook import Logbook
from gankit.training.method import gan_phases
from gankit.training.optim import build_optimizer
from gankit.training.parts import Parts, build_parts, run_length
from gankit.training.phases import Draws, run_phase
from gankit.training.schedules import Schedules, resolve
from gankit.training.side_jobs import Tick, build_side_jobs, lineup
from gankit.training.signals import StopFlag


@contextlib.contextmanager
def untouched_rng(device: torch.device):
    """Run a block without moving the global random streams (torch, CUDA on ``device``, numpy, random)."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


class Trainer:
    def __init__(self, recipe: ValidRecipe | DictConfig, run_dir: str | Path, *, resume: bool = False, recipe_dir=None,
                 fingerprint: str | None = None):
        """``fingerprint``: the run's (its stored recipe's, ``gankit.training.run``); default this recipe's."""
        self.recipe = validated(recipe, recipe_dir)  # a ValidRecipe as it is; a DictConfig (Python API) checked once
        cfg = self.cfg = self.recipe.cfg
        self.t = cfg.trainer
        self.run_dir = Path(run_dir)
        self.acc = make_accelerator(cfg)
        set_seed(self.t.seed)  # identical initial weights on every process
        self.setup(build_parts(self.recipe))
        self.state = TrainState()
        self.checkpoints = Checkpointer(self.acc, self.run_dir, self.t.checkpoint_every, self.t.keep_checkpoints)
        self.guard = NonFiniteGuard(self.t.on_nonfinite, self.acc, self.checkpoints.latest)
        self.stop = StopFlag()
        # built now when evaluations are planned: a metric that cannot run fails before training
        self.evaluator = (Evaluator(cfg, self.parts.data, self.acc.device, conditional=is_conditional(self.parts.G))
                          if self.t.eval_every else None)
        self.eval_notes: tuple[dict, dict] = ({}, {})  # the last evaluation's metric labels and floors
        self.fingerprint = fingerprint or recipe_fingerprint(cfg)  # in each checkpoint: another recipe's is never resumed
        if resume:
            self.load(self.checkpoints.resume_point(self.fingerprint))

    def setup(self, parts: Parts) -> None:
        acc, t, cfg = self.acc, self.t, self.cfg
        self.parts, self.loss = parts, parts.loss
        G, D = parts.G, parts.D
        if cfg.ddp.sync_batchnorm and acc.num_processes > 1:
            G, D = (torch.nn.SyncBatchNorm.convert_sync_batchnorm(m) for m in (G, D))
        if t.channels_last:
            G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        self.images_per_step = t.batch_size * t.d_steps  # real images a step consumes
        e = cfg.ema
        self.ema = EMA(G, self.images_per_step, e.half_life_kimg, e.rampup, e.decay, e.start, bn_batches=e.bn_batches,
                       latents=lambda i: self.noise("ema-bn", i, local=False)) if e.enabled else None
        g_opt, d_opt = build_optimizer(G, cfg.optim.g, acc.device), build_optimizer(D, cfg.optim.d, acc.device)
        if resolve_compile(t.compile, acc.device):
            G, D = torch.compile(G), torch.compile(D)
        self.max_steps = run_length(len(parts.data), t)[1]
        self.G, self.D, self.g_opt, self.d_opt = acc.prepare(G, D, g_opt, d_opt)
        if self.ema is not None:
            self.ema.shadow.to(acc.device)
        self.side_jobs = build_side_jobs(cfg.side_jobs)  # the recipe's own (gankit.training.side_jobs)
        # the parts by name (their `logged` attributes are logged); those that keep state are saved in every checkpoint
        self.named = {k: v for k, v in [("augment", parts.augment)] + [
            (p.key, p.module) for p in parts.penalties] if v is not None} | self.side_jobs
        self.stateful = {k: v for k, v in self.named.items() if v.stateful}
        components = {"penalties": [p.module for p in parts.penalties], "augment": parts.augment, "loss": parts.loss}
        targets = {k: resolve(str(k), {"g": self.g_opt, "d": self.d_opt}, components, self.ema) for k in cfg.schedules}
        self.schedules = Schedules(cfg.schedules, targets, self.max_steps, self.images_per_step)
        self.scheduled: dict[str, float] = {}
        self.num_classes = parts.data.num_classes if uses_labels(parts.G, parts.D) else 0
        if self.num_classes and parts.data.labels is None:
            raise GankitError(f"data.name: the conditional models need labels, but dataset '{cfg.data.name}' has none.")
        try:
            self.stream = BatchStream(parts.data, t.batch_size, t.seed, acc.device, acc.process_index,
                                      acc.num_processes, t.channels_last, micro=t.grad_accum)
        except ValueError as e:
            raise GankitError(f"trainer.batch_size: {e}. Change trainer.batch_size.") from None
        self.noise = NoiseStream(parts.G.z_dim, self.num_classes, self.stream, t.seed, acc.device)
        self.phases = gan_phases(parts, cfg, self.G, self.D, self.g_opt, self.d_opt, acc.unwrap_model(self.D),
                                 lambda: loss_scale(acc))
        self.fixed_z, self.fixed_y = self.noise("grid", n=t.num_grid, local=False)
        self.grid_nrow = max(1, int(t.num_grid ** 0.5))
        if self.num_classes:  # one row per class
            self.grid_nrow = max(1, t.num_grid // self.num_classes)
            self.fixed_z = self.fixed_z[:self.grid_nrow * self.num_classes]
            self.fixed_y = torch.arange(self.num_classes, device=acc.device).repeat_interleave(self.grid_nrow)

    # -- one step ------------------------------------------------------------------
    def step(self) -> dict[str, torch.Tensor]:
        """The scheduled values of this step, every due phase once, in order, then the EMA. Returns device tensors."""
        st = self.state
        self.scheduled = self.schedules.apply(st.step)
        draws = Draws(self.phases, self.G, self.stream, self.noise, st.batch, st.step, bool(self.num_classes))
        stats = {}
        for ph in self.phases:
            if ph.due(st.step):
                stats.update(run_phase(ph, st.step, draws, self.acc, (self.G, self.D), self.guard))
        st.batch += self.t.d_steps
        if self.ema is not None:
            self.ema.update(self.acc.unwrap_model(self.G), st.step)
        return stats

    # -- the loop ------------------------------------------------------------------
    def fit(self) -> dict:
        """Train to ``max_steps``; returns the last row logged (``interrupted``: the signal that stopped it)."""
        st, tick = self.state, Tick()
        with self.stop.installed(), self.logbook() as log:
            jobs = lineup(self, log)
            while st.step < self.max_steps and tick.stop is None:
                stats = self.step()
                if not self.guard.counts(stats, st):
                    continue
                st.step += 1
                log.add(stats)
                tick.at(st.step, last=st.step == self.max_steps)
                for job in jobs:
                    if job.due(tick):
                        job.run(self, tick)
                log.step_done(st.step)
        return tick.summary

    def levels(self) -> dict[str, float]:
        """Values that are a level, not a mean: the scheduled numbers of the last step and the
        attributes parts log (``logged``: e.g. ``augment.p``); the same on every process."""
        out = dict(self.scheduled)
        for name, part in self.named.items():
            for k in part.logged:
                v = getattr(part, k)
                if isinstance(v, (int, float)) and math.isfinite(v):  # ADA's r_t is NaN until first measured
                    out[f"{name}.{k}"] = v
        return out

    def logbook(self) -> Logbook:
        t = self.t
        return Logbook(self.run_dir, self.acc, every=t.log_every, sample_every=t.sample_every,
                       total_steps=self.max_steps, start_step=self.state.step, images_per_step=self.images_per_step,
                       steps_per_epoch=self.stream.steps_per_epoch,
                       eval_every=t.eval_every if self.evaluator is not None else None, fields={
                           "batch_global": t.batch_size, "batch_per_process": self.stream.local,
                           "precision": self.acc.mixed_precision})

    def stopped(self, log: Logbook, signame: str, saved: bool) -> None:
        """A stop by ``signame``: a checkpoint of this step (unless ``saved`` already), and how to resume."""
        if not saved:
            self.save()
        log.message(f"Stopped by {signame} at step {self.state.step}; checkpoint saved. "
                    f"Resume with: gankit train --resume {self.run_dir}")

    def improved(self, results: dict) -> dict | None:
        """The eval.best metric's record when this evaluation beats the best so far."""
        key, mode = self.cfg.eval.best, self.cfg.eval.best_mode
        if not key or key not in results:
            return None
        value, old = float(results[key]), self.state.best
        if old is not None and not (value < old if mode == "min" else value > old):
            return None
        self.state.best, self.state.best_step = value, self.state.step
        return self.best_record()

    def best_record(self) -> dict:
        """What ``checkpoints/best/best.json`` says of the best evaluation so far."""
        return {"metric": self.cfg.eval.best, "value": self.state.best, "mode": self.cfg.eval.best_mode,
                "step": self.state.best_step}

    def evaluate(self) -> dict:
        """The recipe's metrics on eval.num_samples generated images (all processes take part).

        The training's random streams come out untouched: what an evaluation draws (a feature
        net's throwaway initial weights the first time it is built, a loader's base seed) would
        otherwise shift every later dropout mask, and a resumed run (whose first evaluation
        builds the nets again) would part from an uninterrupted one."""
        self.guard.verify(self.state.step)
        with untouched_rng(self.acc.device):
            results = self.evaluator(self.sampler_model(), self.acc)
            floors = self.evaluator.floor_summary()  # once a run: the real-vs-real floor its eval rows name
            labels = self.evaluator.labels()
            if self.cfg.eval.raw and self.ema is not None:  # the same draws, scored on the raw generator
                raw = self.evaluator(self.acc.unwrap_model(self.G), self.acc)
                results |= {f"raw_{k}": v for k, v in raw.items()}
                labels |= self.evaluator.labels("raw_")
                floors = floors | {f"raw_{k}": f for k, f in floors.items()}
            self.eval_notes = ({k: v for k, v in labels.items() if k in results},
                               {k: v for k, v in floors.items() if k in results})
            return results

    # -- sampling ------------------------------------------------------------------
    def sampler_model(self):
        return self.ema.model() if self.ema is not None else self.acc.unwrap_model(self.G)

    @torch.no_grad()
    def grid_images(self) -> torch.Tensor:
        G = self.sampler_model()
        was_training = G.training
        G.eval()
        try:
            return G(self.fixed_z, self.fixed_y).float().cpu()
        finally:
            G.train(was_training)

    # -- checkpoints ---------------------------------------------------------------
    def save(self) -> Path | None:
        """A checkpoint of this step, after the guard's checks; its path on the main process."""
        self.guard.verify(self.state.step)
        nets = {"generator": self.acc.unwrap_model(self.G), "discriminator": self.acc.unwrap_model(self.D)}
        if self.ema is not None:
            nets["ema"] = self.ema.model()
        self.guard.weights(nets, self.state.step)
        state = CheckpointState(**asdict(self.state), recipe_sha256=self.fingerprint,
                                num_processes=self.acc.num_processes, img_shape=list(self.parts.data.img_shape),
                                num_classes=self.parts.data.num_classes,
                                parts={k: v.state_dict() for k, v in self.stateful.items()})
        return self.checkpoints.save(self.state.step, state, self.ema)

    def load(self, path: Path | None) -> None:
        state = self.checkpoints.load(path, self.ema)
        self.state = state.counters()
        saved = state.parts
        for name, part in self.stateful.items():
            if name not in saved and name in self.side_jobs:
                continue  # a side job added on resume starts afresh
            if name not in saved:
                raise GankitError(f"{name}: the run's {type(part).__name__} keeps state, but checkpoint {path} has "
                                  f"none for it (saved before it was added?). Resume without it, or start a new run.")
            part.load_state_dict(saved[name])
        self.guard.good_step = self.state.step
        if self.state.best_step == self.state.step:  # killed between saving the best checkpoint and publishing it
            self.checkpoints.republish_best(path, self.best_record())
