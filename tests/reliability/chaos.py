"""Kill-anywhere runs: ``child(argv, plan, ...)`` runs ``gankit ARGV`` in a process forked from a
preloaded server (``forkserver()``: a run starts in a fraction of a second instead of seconds of
imports) and SIGKILLs itself at a planned moment: the ``nth`` entry into a named point of the run
(a step, an evaluation, a sample grid, a log row, a checkpoint save, publishing the best, the
report, the recipe write, loading a checkpoint), ``delay`` seconds later, from a timer thread, so
the kill lands anywhere inside that phase or just after it. Nothing of gankit is changed but the
points' entry counting; every step entered is appended to ``progress`` (to count steps redone).
"""
import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NamedTuple

import matplotlib
import torchvision.utils  # noqa: F401  (sample grids: imported here, once, not by every run)

import gankit.cli
import gankit.commands.train as train_command
import gankit.training.run as run_module
from gankit.config import registry
from gankit.store import checkpoints as checkpoints_module
from gankit.training.checkpoint import Checkpointer
from gankit.training.logbook import Logbook
from gankit.training.trainer import Trainer

# point name → (owner, attribute) whose calls are counted
POINTS = {
    "step": (Trainer, "step"),
    "eval": (Trainer, "evaluate"),
    "grid": (Logbook, "samples"),
    "log": (Logbook, "record"),
    "save": (Checkpointer, "save"),
    "best": (checkpoints_module, "publish_best"),
    "load": (Checkpointer, "load"),
    "report": (train_command, "write_views"),
    "recipe": (run_module, "write_text_atomic"),
}


class Plan(NamedTuple):
    point: str
    nth: int  # the nth entry into the point (1-based) arms the kill
    delay: float  # seconds from that entry to the SIGKILL
    steps: int | None = None  # a kill on entering this many steps if the point is not reached first


def preload() -> None:
    """What every run would import or register first (the server does it once: no torch ops)."""
    matplotlib.use("Agg")
    importlib.import_module("matplotlib.figure")

    registry.populate()


preload()


def forkserver():
    """A multiprocessing context whose server has imported gankit (and torch) but run nothing.

    The server is a fresh interpreter that ignores this process's sys.path, so the folder this
    module is imported from goes into its PYTHONPATH (or the preload fails silently)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    root = str(Path(__file__).resolve().parents[__name__.count(".")])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([root] + ([old] if old else []))
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    return ctx


def child(argv: list[str], plan: Plan | None, progress: str, cache: str) -> None:
    os.environ["GANKIT_CACHE"] = cache  # feature statistics computed afresh by each scenario
    os.environ["WANDB_MODE"] = "disabled"
    count_steps(progress)
    if plan is not None:
        arm(plan.point, plan.nth, plan.delay)
        if plan.steps:
            arm("step", plan.steps, 0.0)
    sys.exit(gankit.cli.main(argv))


def count_steps(progress: str) -> None:
    fd = os.open(progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    step = Trainer.step

    def counted(self, *a, **kw):
        os.write(fd, f"{self.state.step}\n".encode())
        return step(self, *a, **kw)

    Trainer.step = counted


def arm(point: str, nth: int, delay: float) -> None:
    """SIGKILL this process ``delay`` seconds after the ``nth`` entry into ``point``."""
    owner, name = POINTS[point]
    original, calls = getattr(owner, name), [0]

    def entered(*a, **kw):
        calls[0] += 1
        if calls[0] == nth:
            kill_in(delay)
        return original(*a, **kw)

    setattr(owner, name, entered)


def kill_in(seconds: float) -> None:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGKILL))
    timer.daemon = True
    timer.start()
