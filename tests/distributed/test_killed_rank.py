"""A rank that dies (SIGKILL) or hangs (SIGSTOP) does not hang the other: it exits non-zero with a gankit
message within ``ddp.timeout_s``, and the run resumes exactly from its last complete checkpoint.

The two ranks run as two torchrun nodes (one process each, gloo), as on two machines: there no launcher
stops the surviving rank for us, so only the process-group timeout and gankit's message stand between a
lost machine and a job that hangs.
"""
import os
import signal
import textwrap
import time

import pytest

import nodes
from launch import HERE, gankit, max_diff, params
from gankit.store import intact

# fault injection across processes (a rank killed or hung), like the chaos tests: in the long set (`-m long`)
pytestmark = [pytest.mark.distributed, pytest.mark.slow, pytest.mark.long]

TIMEOUT_S = 20
STEPS = 12
COMMON = [f"trainer.max_steps={STEPS}", "trainer.log_every=1", "trainer.checkpoint_every=2",
          "trainer.sample_every=1000", "trainer.keep_checkpoints=20", f"ddp.timeout_s={TIMEOUT_S}"]
PACED = '''
"""Test-only plugin: a tiny MLP generator that pauses in each training forward (GANKIT_TEST_PAUSE_S)."""
import math
import os
import time

from torch import nn

from gankit.config.registry import GENERATORS

PAUSE = float(os.environ.get("GANKIT_TEST_PAUSE_S", "0"))


@GENERATORS.register("paced_mlp")
class PacedMLP(nn.Module):
    """z → Linear → LeakyReLU → Linear → tanh, pausing PAUSE seconds per training forward."""

    def __init__(self, img_shape: tuple = (1, 28, 28), z_dim: int = 16):
        super().__init__()
        self.z_dim, self.img_shape = z_dim, tuple(img_shape)
        self.net = nn.Sequential(nn.Linear(z_dim, 32), nn.LeakyReLU(0.2), nn.Linear(32, math.prod(img_shape)), nn.Tanh())

    def forward(self, z, y=None):
        if PAUSE and self.training:
            time.sleep(PAUSE)
        return self.net(z).view(-1, *self.img_shape)
'''


@pytest.fixture
def paced(tmp_path):
    """The tiny recipe with a pausing MLP G and the probe MLP D: slow enough to act on mid-run."""
    (tmp_path / "paced.py").write_text(PACED)
    recipe = tmp_path / "paced.yaml"
    recipe.write_text(textwrap.dedent(f"""\
        base: {HERE.parent / "recipes" / "tiny.yaml"}
        plugins: [{HERE / "probe.py"}, paced.py]
        generator: {{name: paced_mlp, z_dim: 16}}
        discriminator: {{name: probe_mlp}}
        """))
    return recipe


def _wait_for_checkpoint(run, step: int, procs, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.is_dir() and any(d.name == f"step-{step:07d}" for d in intact.step_dirs(run)):
            return
        assert all(p.poll() is None for p in procs), "a node ended before the checkpoint was written"
        time.sleep(0.1)
    raise AssertionError(f"no complete checkpoint {step} in {run} after {timeout} s")


def _stop_rank1(paced, tmp_path, sig, extra):
    """Train on two nodes, send ``sig`` to rank 1 after the step-4 checkpoint; rank 0's exit code, seconds
    from the signal to its exit, and its log."""
    logs = tmp_path / "logs"
    procs = nodes.start([paced, *COMMON, *extra], logs, env={"GANKIT_TEST_PAUSE_S": "0.1"})
    try:
        run = tmp_path / "run" if "--out" in extra else None
        if run is None:  # the run directory is named by rank 0 and broadcast
            deadline = time.monotonic() + 120
            while not (tmp_path / "runs").is_dir() or not any((tmp_path / "runs").iterdir()):
                assert time.monotonic() < deadline and procs[0].poll() is None, nodes.log_tail(logs)
                time.sleep(0.1)
            (run,) = (tmp_path / "runs").iterdir()
        _wait_for_checkpoint(run, 4, procs)
        os.kill(nodes.worker_pid(procs[1]), sig)  # looked up now, when the worker is surely the one training
        t0 = time.monotonic()
        code = procs[0].wait(timeout=TIMEOUT_S + 90)
        seconds = time.monotonic() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                try:
                    os.kill(nodes.worker_pid(p, timeout=1), signal.SIGKILL)
                except (AssertionError, ProcessLookupError):
                    pass
                p.kill()
            p.wait()
    return run, code, seconds, (logs / "node0.log").read_text()


def _assert_message(log: str, resume: str) -> None:
    assert "gankit: error: distributed: rank 0 of 2 lost contact with another process" in log, log[-4000:]
    assert "rank 1 likely died" in log and f"gankit train --resume {resume}" in log
    assert f"ddp.timeout_s={TIMEOUT_S} s" in log


def test_a_killed_rank_ends_the_other_with_a_message_and_the_run_resumes_exactly(paced, tmp_path):
    run, code, seconds, log = _stop_rank1(paced, tmp_path, signal.SIGKILL, ["--out", tmp_path / "run"])
    assert code != 0 and seconds < TIMEOUT_S + 15, (code, seconds)
    _assert_message(log, run)  # the --out given
    done = [int(d.name.split("-")[1]) for d in intact.step_dirs(run)]
    assert 4 <= max(done) < STEPS  # stopped mid-run, after the step-4 checkpoint
    gankit(["--resume", run], nproc=2)
    gankit([paced, *COMMON, "--out", tmp_path / "full"], nproc=2)  # the same run, uninterrupted
    assert max_diff(params(run, STEPS), params(tmp_path / "full", STEPS)) == 0.0


def test_a_hung_rank_makes_the_other_give_up_after_ddp_timeout_s(paced, tmp_path):
    """SIGSTOP keeps rank 1's sockets open: only the timeout (set here through the recipe, applied where the
    process group is formed to name the run directory) ends rank 0's wait."""
    run, code, seconds, log = _stop_rank1(paced, tmp_path, signal.SIGSTOP, [f"output.root={tmp_path / 'runs'}"])
    assert code != 0 and TIMEOUT_S - 2 < seconds < TIMEOUT_S + 30, (code, seconds)
    _assert_message(log, f"{tmp_path / 'runs'}/paced-<time> (the newest)")  # named at start, under output.root
