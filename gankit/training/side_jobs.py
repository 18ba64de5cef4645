"""Side jobs: work beside training that each decides for itself when it is due.

After every counted step ``Trainer.fit`` runs each side job that is due, in this order: the
logbook (a metrics row), sample grids, evaluation, the recipe's own side jobs, checkpoints, and
the stop flag. They tell each other what happened through the step's ``Tick``: an evaluation that
beats ``eval.best`` sets ``tick.best`` (checkpoints then save this step and publish it as
``checkpoints/best``); checkpoints set ``tick.saved`` (a stop by a signal then saves no second
checkpoint); the stop flag sets ``tick.stop`` (the loop ends).

A side job of your own subclasses ``SideJob`` (its contract: every member it may have, in one
place), is registered with ``@SIDE_JOBS.register("my_job")`` and named in the recipe with its
arguments::

    side_jobs:
      - {name: my_job, every: 50}

``snapshot`` (the generator's weights every ``every`` steps, kept apart from checkpoint rotation) is
one such job. A recipe's side jobs run after evaluation and before checkpoints, so a checkpoint
holds the state (``state_dict``) of a job that ran at its step. The list is resume-safe as a whole (``RESUME_SAFE_KEYS``): a resumed
run may add, drop or change side jobs; a stateful one gets its state back by its name, and one
added on resume starts afresh.
"""
import time
from dataclasses import dataclass, field
from typing import Optional, Protocol

from safetensors.torch import save_file

from gankit.config.contracts import Contract, Part, lacks, stand_in
from gankit.config.registry import SIDE_JOBS
from gankit.data.base import to_unit_range
from gankit.store.files import replacing


@dataclass
class Tick:
    """What the side jobs of a step know of it and tell each other (one per ``fit``, moved on each step)."""

    step: int = 0  # the step just completed
    last: bool = False  # the run's last step
    best: Optional[dict] = None  # this step's evaluation beat eval.best: its record (checkpoints publish it)
    saved: bool = False  # a checkpoint of this step was saved
    stop: Optional[str] = None  # the signal that stops the run (SIGINT, SIGTERM)
    summary: dict = field(default_factory=dict)  # the last row the logbook wrote (what ``fit`` returns)

    def at(self, step: int, last: bool) -> "Tick":
        self.step, self.last, self.best, self.saved = step, last, None, False
        return self


class SideJob(Part, Protocol):
    """Work done between training steps when it is due.

    * ``run(trainer, tick)`` (required): do the work. It runs on every process (the logbook and
      evaluation gather from all of them): write files where ``trainer.acc.is_main_process``.
      A job may read ``trainer.run_dir``, ``.acc``, ``.cfg``, ``.state`` (step, batch), ``.max_steps``,
      ``.sampler_model()`` (the generator to sample: the EMA when enabled), ``.grid_images()``
      and ``.evaluate()``.
    * ``due(tick)``: whether to run after this step; by default every ``every`` steps and at the
      end of the run.
    * ``every``: the default ``due``'s period, in steps (a recipe gives it as an argument).

    Like every part (``gankit.config.contracts.Part``) it may log attributes (``logged``) and keep
    state across a resume (``state_dict`` and ``load_state_dict``: saved in every checkpoint).
    """

    every: int = 1

    def __init__(self, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:  # the registry names the key
            raise ValueError(f"every must be a whole number of steps ≥ 1, got {every!r}")
        self.every = every

    def due(self, tick: Tick) -> bool:
        return tick.step % self.every == 0 or tick.last

    @stand_in
    def run(self, trainer, tick: Tick) -> None:
        raise NotImplementedError(f"{type(self).__name__} gives no run(trainer, tick)")


SIDE_JOBS.follow(Contract(SideJob, lambda job: lacks(job, "run(trainer, tick)")))


def build_side_jobs(nodes) -> dict[str, SideJob]:
    """The recipe's ``side_jobs`` by the name their state is saved under: ``side_jobs.<name>``
    (``side_jobs.<name>.2`` for a second job of the same name)."""
    jobs: dict[str, SideJob] = {}
    for i, node in enumerate(nodes or []):
        job = SIDE_JOBS.build(node, f"side_jobs[{i}]")
        name, k = f"side_jobs.{node['name']}", 1
        while (key := name if k == 1 else f"{name}.{k}") in jobs:
            k += 1
        jobs[key] = job
    return jobs


# -- the built-in side jobs -------------------------------------------------------------------
class MetricsRow(SideJob):
    """A metrics.jsonl row of the window's mean numbers and the levels (``trainer.log_every``)."""

    def __init__(self, log):
        self.log = log

    def due(self, tick: Tick) -> bool:
        return self.log.due(tick.step, tick.last)

    def run(self, trainer, tick: Tick) -> None:
        trainer.guard.verify(tick.step)
        tick.summary = self.log.record(tick.step, trainer.state.batch, trainer.levels())


class SampleGrid(SideJob):
    """A grid of the fixed latents' images in samples/ (``trainer.sample_every``)."""

    def __init__(self, log):
        self.log = log

    def due(self, tick: Tick) -> bool:
        return self.log.samples_due(tick.step, tick.last)

    def run(self, trainer, tick: Tick) -> None:
        self.log.samples(tick.step, trainer.grid_images(), trainer.grid_nrow)


class RealGrid(SideJob):
    """``samples/real.png``, once per run: as many training images as a sample grid holds, laid out alike
    (the report shows it beside the last grid)."""

    def __init__(self, log):
        self.log, self.done = log, False

    def due(self, tick: Tick) -> bool:
        return not self.done

    def run(self, trainer, tick: Tick) -> None:
        self.done = True
        images = trainer.parts.data.images[:trainer.fixed_z.shape[0]].cpu()
        self.log.real_samples(to_unit_range(images), trainer.grid_nrow)


class Evaluation(SideJob):
    """The recipe's metrics as an eval/ row (``trainer.eval_every``); a new best sets ``tick.best``."""

    def __init__(self, log, every: int):
        super().__init__(every)
        self.log = log

    def run(self, trainer, tick: Tick) -> None:
        start = time.perf_counter()
        results = trainer.evaluate()
        labels, floors = trainer.eval_notes  # what each metric is, and its real-vs-real floor
        tick.summary = self.log.record_eval(tick.step, results, took_s=time.perf_counter() - start, labels=labels,
                                            floors=floors)
        tick.best = trainer.improved(results)


class Checkpoints(SideJob):
    """A checkpoint (``trainer.checkpoint_every``, and at a new best, which it publishes as ``checkpoints/best``)."""

    def __init__(self, checkpoints):
        self.checkpoints = checkpoints

    def due(self, tick: Tick) -> bool:
        return self.checkpoints.due(tick.step, tick.last) or tick.best is not None

    def run(self, trainer, tick: Tick) -> None:
        self.checkpoints.publish_best(trainer.save(), tick.best)
        tick.saved = True


class Stop(SideJob):
    """Ends the run on SIGINT/SIGTERM, agreed by every process each step, after a checkpoint of the step."""

    def __init__(self, log):
        self.log = log

    def due(self, tick: Tick) -> bool:
        return True  # every process asks every step: the answer is a collective

    def run(self, trainer, tick: Tick) -> None:
        signame = trainer.stop.agreed(trainer.acc, tick.step)
        if signame:
            trainer.stopped(self.log, signame, tick.saved)
            tick.summary["interrupted"] = tick.stop = signame


# -- side jobs a recipe may name ------------------------------------------------------------
@SIDE_JOBS.register("snapshot")
class Snapshot(SideJob):
    """The generator to sample (the EMA when enabled) as <folder>/G-step-<step>.safetensors every `every` steps."""

    def __init__(self, every: int = 1000, folder: str = "snapshots"):
        super().__init__(every)
        self.folder = folder

    def run(self, trainer, tick: Tick) -> None:
        if not trainer.acc.is_main_process:
            return
        path = trainer.run_dir / self.folder / f"G-step-{tick.step:07d}.safetensors"
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:  # a kill mid-write leaves no half file under the final name
            save_file({k: v.detach().cpu().clone() for k, v in trainer.sampler_model().state_dict().items()}, str(tmp))


def lineup(trainer, log) -> list[SideJob]:
    """The side jobs of a run in the order they run after each step: built-in ones and the recipe's."""
    evaluation = [Evaluation(log, trainer.t.eval_every)] if trainer.evaluator is not None else []
    return [MetricsRow(log), RealGrid(log), SampleGrid(log), *evaluation, *trainer.side_jobs.values(),
            Checkpoints(trainer.checkpoints), Stop(log)]
