"""The training loop on accelerate: one D phase then one G phase per iteration.

Read top to bottom: ``setup`` builds and prepares; ``fit`` loops over iterations, each a
short list of phases (``d_phase``, ``g_phase``, EMA); logging, samples and checkpoints
hang off the step counter.
"""
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from omegaconf import DictConfig


from gankit.data.batches import BatchStream, stable_seed
from gankit.errors import GankitError
from gankit.training import checkpoint as ckpt
from gankit.training.accel import adam, make_accelerator, scheduler
from gankit.training.ema import EMA
from gankit.training.logbook import Logbook
from gankit.training.parts import Parts, build_parts, load_plugins, run_length
from gankit.training.signals import StopFlag


@dataclass
class TrainState:
    step: int = 0  # completed iterations (generator updates)
    batch: int = 0  # global batches consumed
    skipped: int = 0  # non-finite steps skipped (on_nonfinite: skip)
    best: float | None = None  # best value of eval.best so far


class Trainer:
    def __init__(self, cfg: DictConfig, run_dir: str | Path, *, resume: bool = False, recipe_dir=None):
        self.cfg, self.t = cfg, cfg.trainer
        self.run_dir = Path(run_dir)
        self.acc = make_accelerator(cfg)
        load_plugins(cfg, recipe_dir)
        set_seed(self.t.seed)  # identical initial weights on every process
        parts = build_parts(cfg)
        self.setup(parts)
        self.state = TrainState()
        self._good_step = 0  # the last step whose losses and weights were checked finite
        self._skips_in_row = 0  # on_nonfinite: skip gives up after MAX_SKIPS_IN_ROW
        self.evaluator = None  # built now when evaluations are planned: a metric that cannot run fails before training
        if self.t.eval_every:
            from gankit.metrics.evaluation import Evaluator

            self.evaluator = Evaluator(cfg, parts.data, self.acc.device, conditional=self.g_cond)
        if resume:
            self.load(ckpt.latest(self.run_dir))

    # -- setup -------------------------------------------------------------------
    def setup(self, parts: Parts) -> None:
        acc, t, cfg = self.acc, self.t, self.cfg
        self.parts, self.loss = parts, parts.loss
        G, D = parts.G, parts.D
        if cfg.ddp.sync_batchnorm and acc.num_processes > 1:
            D = torch.nn.SyncBatchNorm.convert_sync_batchnorm(D)
            G = torch.nn.SyncBatchNorm.convert_sync_batchnorm(G)
        if t.channels_last:
            G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        self.ema = EMA(G, cfg.ema.decay, cfg.ema.start) if cfg.ema.enabled else None
        g_opt = adam(G, cfg.optim.g, acc.device)
        d_opt = adam(D, cfg.optim.d, acc.device)
        if t.compile:
            G, D = torch.compile(G), torch.compile(D)
        self.max_steps = run_length(len(parts.data), t)[1]
        g_sched, d_sched = (scheduler(o, cfg.optim[n].schedule, self.max_steps)
                            for o, n in ((g_opt, "g"), (d_opt, "d")))
        self.G, self.D, self.g_opt, self.d_opt, self.g_sched, self.d_sched = acc.prepare(
            G, D, g_opt, d_opt, g_sched, d_sched)
        if self.ema is not None:
            self.ema.model.to(acc.device)
        self.aux_weight = getattr(parts.D, "aux_weight", 1.0)
        self.d_batchnorm = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in parts.D.modules())
        self.z_dim = parts.G.z_dim
        # A model that takes labels sets `conditional = True` and `num_classes`; forward(x, y).
        self.g_cond = bool(getattr(parts.G, "conditional", False))
        self.d_cond = bool(getattr(parts.D, "conditional", False))
        self.num_classes = parts.data.num_classes if (self.g_cond or self.d_cond) else 0
        if self.num_classes and parts.data.labels is None:
            raise GankitError(f"data.name: the conditional models need labels, but dataset '{cfg.data.name}' has none.")
        try:
            self.stream = BatchStream(parts.data, t.batch_size, t.seed, acc.device, acc.process_index,
                                      acc.num_processes, t.channels_last, micro=t.grad_accum)
        except ValueError as e:
            raise GankitError(f"trainer.batch_size: {e}. Change trainer.batch_size.") from None
        self.fixed_z, self.fixed_y = self.noise(-1, t.num_grid, local=False)
        self.grid_nrow = max(1, int(t.num_grid ** 0.5))
        if self.num_classes:  # one row per class
            self.grid_nrow = max(1, t.num_grid // self.num_classes)
            n = self.grid_nrow * self.num_classes
            self.fixed_z = self.fixed_z[:n]
            self.fixed_y = torch.arange(self.num_classes, device=acc.device).repeat_interleave(self.grid_nrow)

    # -- noise -------------------------------------------------------------------
    def noise(self, index: int, n: int | None = None, local: bool = True, micro: int = 0):
        """Latents (and labels) for global batch ``index``: a function of (seed, index) only.

        ``local``: this process's share of micro-batch ``micro``, the same positions as its real images.
        """
        n = n or self.t.batch_size
        g = torch.Generator().manual_seed(stable_seed(self.t.seed, "noise", index))
        z = torch.randn(n, self.z_dim, generator=g)
        y = torch.randint(0, self.num_classes, (n,), generator=g) if self.num_classes else None
        if local:
            sl = self.stream.share(micro)
            z, y = z[sl], (y[sl] if y is not None else None)
        dev = self.acc.device
        return z.to(dev, non_blocking=True), (y.to(dev, non_blocking=True) if y is not None else None)

    def generate(self, G, z, y):
        return G(z, y) if self.g_cond else G(z)

    def judge(self, x, y):
        return self.D(x, y) if self.d_cond else self.D(x)

    # -- phases --------------------------------------------------------------------
    def d_phase(self, real, y_real, fake, y_fake):
        """One discriminator update: real, fake and any penalty inputs go through D in ONE forward."""
        aug, pens, step = self.parts.augment, self.parts.penalties, self.state.step
        x = torch.cat([real, fake.detach()])
        x = aug(x) if aug else x
        extras = [pen.inputs(real, fake.detach(), step) if hasattr(pen, "inputs") else None for pen in pens]
        xs = [x] + [e for e in extras if e is not None]
        y = torch.cat([y_real, y_fake] + [y_real for e in extras if e is not None]) if self.num_classes else None
        logits, cls = _split_aux(self.judge(torch.cat(xs), y))
        sizes = [real.shape[0], fake.shape[0]] + [e.shape[0] for e in extras if e is not None]
        real_logits, fake_logits, *extra_logits = logits.float().split(sizes)
        d_loss = self.loss.d(real_logits, fake_logits)
        if cls is not None:  # auxiliary classifier (ACGAN): classify real and fake by label
            n = real.shape[0] + fake.shape[0]
            d_loss = d_loss + self.aux_weight * F.cross_entropy(cls[:n].float(), torch.cat([y_real, y_fake]))
        it = iter(extra_logits)
        for pen, e in zip(pens, extras):
            if e is not None:
                d_loss = d_loss + pen(e, next(it), step)
        self.acc.backward(d_loss)
        self._clip(self.D, self.d_opt, self.cfg.optim.d.grad_clip)
        self.d_opt.step()
        self.d_opt.zero_grad(set_to_none=True)
        for pen in pens:
            if hasattr(pen, "after_d_step"):
                pen.after_d_step(self.acc.unwrap_model(self.D))
        return d_loss.detach(), real_logits.detach(), fake_logits.detach()

    def g_phase(self, fake, y_fake, real_logits, real, y_real):
        """One generator update through a frozen D.

        A D with BatchNorm sees real and fake together here too, as in its own update, so its
        batch statistics are of the same kind in both phases. A loss that compares with real data
        (``g_uses_real``) gets the real logits of this, updated, D; other losses ignore them.
        """
        aug = self.parts.augment
        self.D.requires_grad_(False)
        x, y, n = fake, y_fake, 0
        if self.d_batchnorm or self.loss.g_uses_real:
            x, n = torch.cat([real, fake]), real.shape[0]
            y = torch.cat([y_real, y_fake]) if self.num_classes else None
        logits, cls = _split_aux(self.judge(aug(x) if aug else x, y))
        fake_logits, cls = logits[n:], (cls[n:] if cls is not None else None)
        if self.loss.g_uses_real:
            real_logits = logits[:n].float().detach()
        g_loss = self.loss.g(fake_logits.float(), real_logits)
        if cls is not None:
            g_loss = g_loss + self.aux_weight * F.cross_entropy(cls.float(), y_fake)
        self.acc.backward(g_loss)
        self.D.requires_grad_(True)
        self._clip(self.G, self.g_opt, self.cfg.optim.g.grad_clip)
        self.g_opt.step()
        self.g_opt.zero_grad(set_to_none=True)
        return g_loss.detach()

    def _clip(self, model, opt, max_norm):
        if max_norm and self.acc.sync_gradients:
            self.acc.unscale_gradients(optimizer=opt)  # this optimizer only (fp16)
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        if self.t.on_nonfinite == "skip" and self.acc.sync_gradients and self.acc.scaler is None:
            _drop_nonfinite_grads(model)  # (fp16: the grad scaler already skips such steps)

    def iteration(self):
        """One step: d_steps D updates, then g_steps G updates; returns device tensors for logging."""
        t, st = self.t, self.state
        stats = self.step_in_one_block() if t.grad_accum == 1 else self.accumulated_step()
        st.batch += t.d_steps
        if self.acc.sync_gradients:
            self.g_sched.step()
            self.d_sched.step()
            if self.ema is not None:
                self.ema.update(self.acc.unwrap_model(self.G), st.step)
        return stats

    def step_in_one_block(self) -> torch.Tensor:
        """The D and G phases in ONE accumulate block covering both models; G's forward is shared."""
        t, st = self.t, self.state
        with self.acc.accumulate(self.G, self.D):
            for i in range(t.d_steps):
                real, y_real = self.stream.batch(st.batch + i)
                z, y_fake = self.noise(st.batch + i)
                fake = self.generate(self.G, z, y_fake)
                d_loss, real_logits, fake_logits = self.d_phase(real, y_real, fake, y_fake)
            for k in range(t.g_steps):
                if k:
                    z, y_fake = self.noise(-2 - (st.batch + t.d_steps) * t.g_steps - k)
                    fake = self.generate(self.G, z, y_fake)
                g_loss = self.g_phase(fake, y_fake, real_logits, real, y_real)
        return torch.stack([d_loss, g_loss, real_logits.mean(), fake_logits.mean()])

    def accumulated_step(self) -> torch.Tensor:
        """grad_accum = a > 1 (d_steps = g_steps = 1): the step's global batch in a micro-batches.

        D accumulates over all micro-batches and steps; then G accumulates over all micro-batches
        through the UPDATED D, as one big batch would (G's step in micro-batch 0 must not see the old
        D). Each micro-batch is one ``accumulate(G, D)`` block, 2a in all: the a-th steps D, the
        2a-th steps G. G's forward is recomputed for the G phase instead of keeping a graphs.
        """
        a, b = self.t.grad_accum, self.state.batch
        d_stats, real_logits = [], []
        for m in range(a):
            with self.acc.accumulate(self.G, self.D):
                real, y_real = self.stream.batch(b, m)
                z, y_fake = self.noise(b, micro=m)
                with torch.no_grad():
                    fake = self.generate(self.G, z, y_fake)
                d_loss, r_logits, f_logits = self.d_phase(real, y_real, fake, y_fake)
                d_stats.append(torch.stack([d_loss, r_logits.mean(), f_logits.mean()]))
                real_logits.append(r_logits)
        g_losses = []
        for m in range(a):
            with self.acc.accumulate(self.G, self.D):
                z, y_fake = self.noise(b, micro=m)
                real, y_real = self.stream.batch(b, m)
                g_losses.append(self.g_phase(self.generate(self.G, z, y_fake), y_fake, real_logits[m], real, y_real))
        d_loss, r_mean, f_mean = torch.stack(d_stats).mean(0)
        return torch.stack([d_loss, torch.stack(g_losses).mean(), r_mean, f_mean])

    # -- the loop --------------------------------------------------------------------
    def fit(self) -> dict:
        acc, t, st = self.acc, self.t, self.state
        log = Logbook(self, enabled=acc.is_main_process)
        stop = StopFlag()
        window = torch.zeros(4, device=acc.device)
        bad = torch.zeros((), device=acc.device)
        n_window, t_window = 0, time.perf_counter()
        summary = {}
        with stop.installed():
            while st.step < self.max_steps:
                prev = st.batch
                stats = self.iteration()
                finite = torch.isfinite(stats).all()
                if t.on_nonfinite == "skip" and not self._all_ranks(finite):  # host sync only in skip mode
                    st.skipped += 1
                    st.batch = prev + t.d_steps
                    self._too_many_skips()
                    continue
                bad += ~finite
                self._skips_in_row = 0
                window += stats
                n_window += 1
                st.step += 1
                last = st.step == self.max_steps
                if st.step % t.log_every == 0 or last:
                    self._guard(bad)
                    dt = time.perf_counter() - t_window
                    means = acc.reduce(window / n_window, reduction="mean")  # losses of the global batch
                    summary = log.record(means, n_window * t.batch_size * t.d_steps / dt)
                    window.zero_()
                    n_window, t_window = 0, time.perf_counter()
                if st.step % t.sample_every == 0 or last:
                    log.samples(self.sampler_model())
                best = None
                if t.eval_every and (st.step % t.eval_every == 0 or last):
                    self._guard(bad)
                    results = self.evaluate()
                    summary = log.record_eval(results)
                    best = self._improved(results)
                saved = st.step % t.checkpoint_every == 0 or last or best is not None
                if saved:
                    self._guard(bad)
                    path = self.save()
                    if best is not None and path is not None:  # main process
                        ckpt.publish_best(self.run_dir, path, best)
                signame = stop.agreed(acc, st.step)  # the same answer on every process
                if signame:
                    self._guard(bad)
                    if not saved:
                        self.save()
                    log.message(f"Stopped by {signame} at step {st.step}; checkpoint saved. "
                                f"Resume with: gankit train --resume {self.run_dir}")
                    summary["interrupted"] = signame
                    break
        log.close()
        return summary

    def _all_ranks(self, ok: torch.Tensor) -> bool:
        """True when ``ok`` holds on every process (all take the same branch, or DDP would hang)."""
        return not self.acc.reduce((~ok).float(), reduction="sum").item()

    def _too_many_skips(self) -> None:
        self._skips_in_row += 1
        if self._skips_in_row >= MAX_SKIPS_IN_ROW:
            raise GankitError(
                f"trainer.on_nonfinite: {self._skips_in_row} iterations in a row had a non-finite loss and were "
                f"skipped (at step {self.state.step}; {self.state.skipped} skipped in all), so skipping will not "
                f"recover. Lower optim.*.lr or fix the loss; the last good checkpoint is "
                f"{ckpt.latest(self.run_dir) or '(none yet)'}.")

    def _guard(self, bad: torch.Tensor) -> None:
        if self._all_ranks(bad == 0):
            self._good_step = self.state.step
        else:
            last = ckpt.latest(self.run_dir)
            raise GankitError(
                f"training diverged: a non-finite D or G loss appeared by step {self.state.step} (after "
                f"step {self._good_step}, the last one checked). "
                f"No checkpoint was written with these weights; the last good one is "
                f"{last or '(none yet)'}. Lower optim.*.lr, add a penalty, or set trainer.on_nonfinite=skip."
            )

    def _improved(self, results: dict) -> dict | None:
        """The eval.best metric's record when this evaluation beats the best so far."""
        key, mode = self.cfg.eval.best, self.cfg.eval.best_mode
        if not key or key not in results:
            return None
        value, old = float(results[key]), self.state.best
        if old is not None and not (value < old if mode == "min" else value > old):
            return None
        self.state.best = value
        return {"metric": key, "value": value, "mode": mode, "step": self.state.step}

    def evaluate(self) -> dict:
        """The recipe's metrics on eval.num_samples generated images (all processes take part)."""
        return self.evaluator(self.sampler_model(), self.acc)

    # -- sampling ------------------------------------------------------------------
    def sampler_model(self):
        return self.ema.model if self.ema is not None else self.acc.unwrap_model(self.G)

    @torch.no_grad()
    def grid_images(self) -> torch.Tensor:
        G = self.sampler_model()
        was_training = G.training
        G.eval()
        try:
            return self.generate(G, self.fixed_z, self.fixed_y).float().cpu()
        finally:
            G.train(was_training)

    # -- checkpoints ---------------------------------------------------------------
    def save(self) -> Path | None:
        """Save on every process (accelerate requires it); the main process publishes."""
        acc = self.acc
        self._check_weights()
        tmp = ckpt.temp_dir(self.run_dir, self.state.step)
        if acc.is_main_process:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            if tmp.exists():
                import shutil
                shutil.rmtree(tmp)
        acc.wait_for_everyone()
        final = None
        with ckpt.disk_errors(tmp):
            self._write_checkpoint(tmp)
            if acc.is_main_process:
                final = ckpt.publish(tmp, self.state.step, self.t.keep_checkpoints)
        acc.wait_for_everyone()
        return final

    def _write_checkpoint(self, tmp: Path) -> None:
        acc = self.acc
        acc.save_state(str(tmp), safe_serialization=True)
        if acc.is_main_process:
            if self.ema is not None:
                from safetensors.torch import save_file
                save_file({k: v.contiguous() for k, v in self.ema.model.state_dict().items()},  # channels_last
                          str(tmp / "ema.safetensors"))
            state = asdict(self.state) | {"num_processes": acc.num_processes,
                                          "img_shape": list(self.parts.data.img_shape),
                                          "num_classes": self.parts.data.num_classes}
            ckpt.write_json(tmp / ckpt.STATE_FILE, state)

    def _check_weights(self) -> None:
        """A checkpoint never holds NaN/inf weights (a huge lr can blow them up while the losses still look finite)."""
        nets = [("generator", self.acc.unwrap_model(self.G)), ("discriminator", self.acc.unwrap_model(self.D))]
        if self.ema is not None:
            nets.append(("ema", self.ema.model))
        for who, net in nets:
            bad = ckpt.nonfinite(net.state_dict().items())
            if bad:
                raise GankitError(
                    f"training diverged: the {who} has non-finite weights at step {self.state.step} "
                    f"({', '.join(bad[:3])}{' …' if len(bad) > 3 else ''}). No checkpoint was written with them; "
                    f"the last good one is {ckpt.latest(self.run_dir) or '(none yet)'}. Lower optim.*.lr, "
                    f"add a penalty or set optim.*.grad_clip.")
        self._good_step = self.state.step

    def load(self, path: Path | None) -> None:
        if path is None:
            raise GankitError(f"--resume: {self.run_dir} has no complete checkpoint to resume from.")
        state = ckpt.read_state(path)
        ckpt.verify(path)
        try:
            self.acc.load_state(str(path))
        except ckpt.UNSAFE_ERRORS as e:
            raise ckpt.unsafe_load_error(path, e) from None
        if self.ema is not None:
            from safetensors.torch import load_file
            if not (path / ckpt.EMA_FILE).is_file():
                raise GankitError(f"ema.enabled: the run now keeps an EMA of G, but checkpoint {path} has none "
                                  f"({ckpt.EMA_FILE}). Resume with ema.enabled=false, or start a new run.")
            self.ema.model.load_state_dict(load_file(str(path / ckpt.EMA_FILE), device=str(self.acc.device)))
        self.state = TrainState(**{k: state[k] for k in asdict(TrainState()) if k in state})
        self._good_step = self.state.step


MAX_SKIPS_IN_ROW = 50  # on_nonfinite: skip stops a run whose loss stays non-finite


@torch.no_grad()
def _drop_nonfinite_grads(model) -> None:
    """Skip this update: non-finite gradients become None, so the optimizer leaves the weights alone."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
        for p in model.parameters():
            p.grad = None


def _split_aux(out):
    """D returns logits, or (logits, class_logits) when it has an auxiliary classifier."""
    return out if isinstance(out, tuple) else (out, None)
