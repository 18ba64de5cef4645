"""Test plugin: a side job and a penalty that keep state, added without touching gankit.training.

``step_log`` appends the steps it runs at to ``<run>/step_log.jsonl`` and counts its runs (its state,
logged as ``side_jobs.step_log.runs``); ``decaying_r1`` is R1 whose weight falls with the number of
times it has run (its state): a resume that lost the count would train differently.
"""
import json

from gankit import PENALTIES, SIDE_JOBS
from gankit.losses.penalties import R1
from gankit.training.side_jobs import SideJob


@SIDE_JOBS.register("step_log")
class StepLog(SideJob):
    """Appends {"step", "runs"} to step_log.jsonl in the run folder every `every` steps."""

    logged = ("runs",)

    def __init__(self, every: int = 2, file: str = "step_log.jsonl"):
        super().__init__(every)
        self.file, self.runs = file, 0

    def run(self, trainer, tick) -> None:
        self.runs += 1
        if trainer.acc.is_main_process:
            with open(trainer.run_dir / self.file, "a") as f:
                f.write(json.dumps({"step": tick.step, "runs": self.runs, "last": tick.last}) + "\n")

    def state_dict(self) -> dict:
        return {"runs": self.runs}

    def load_state_dict(self, state: dict) -> None:
        self.runs = int(state["runs"])


@PENALTIES.register("decaying_r1")
class DecayingR1(R1):
    """R1 with weight gamma / (1 + k), k the number of times it has run before (saved and restored)."""

    logged = ("calls",)

    def __init__(self, gamma: float = 10.0):
        super().__init__(gamma)
        self.calls = 0

    def __call__(self, x, logits, step):
        value = super().__call__(x, logits, step) / (1 + self.calls)
        self.calls += 1
        return value

    def state_dict(self) -> dict:
        return {"calls": self.calls}

    def load_state_dict(self, state: dict) -> None:
        self.calls = int(state["calls"])


@PENALTIES.register("duck_counter")
class DuckCounter:
    """A penalty written without the base class: adds weight·mean(logits²) on real images, counts its calls."""

    def __init__(self, weight: float = 0.1):
        self.weight, self.calls = weight, 0

    def inputs(self, real, fake, step):
        return real.detach().requires_grad_(True)

    def __call__(self, x, logits, step):
        self.calls += 1
        return self.weight * logits.float().pow(2).mean()

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, state):
        self.calls = int(state["calls"])
