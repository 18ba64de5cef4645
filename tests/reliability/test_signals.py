"""Ctrl-C and SIGTERM stop a running `gankit train` at the next step with a fresh checkpoint.

Exit codes: 130 for SIGINT (128 + 2, the shell convention), 143 for SIGTERM (128 + 15), 0 when
training finished. A second Ctrl-C exits at once (130), without waiting for the step to finish or saving.
"""
import json
import signal
import time

import pytest

from gankit.store import checkpoints as ckpt
from gankit.store.state import read as read_state

from .helpers import PLUGINS, SMALL, popen

LONG = ["trainer.max_steps=100000", "trainer.checkpoint_every=100000", "trainer.log_every=1"]


def _wait_for_steps(proc, run, n=1, timeout=120):
    """Wait until the run has logged ``n`` steps (so the training loop is running)."""
    end = time.monotonic() + timeout
    rows = run / "metrics.jsonl"
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        if rows.is_file() and len(rows.read_text().splitlines()) >= n:
            return json.loads(rows.read_text().splitlines()[-1])["step"]
        time.sleep(0.05)
    proc.kill()
    pytest.fail("training did not start in time")


@pytest.mark.slow
def test_sigint_and_sigterm_save_a_checkpoint_and_print_the_resume_hint(tmp_path):
    runs = {sig: tmp_path / sig.name for sig in (signal.SIGINT, signal.SIGTERM)}
    procs = {sig: popen("train", SMALL, *LONG, "--out", run) for sig, run in runs.items()}  # side by side
    codes, seen = {}, {}
    try:
        for sig, proc in procs.items():
            seen[sig] = _wait_for_steps(proc, runs[sig], n=3)
            proc.send_signal(sig)
        for sig, proc in procs.items():
            out, err = proc.communicate(timeout=60)
            run = runs[sig]
            assert "Traceback" not in err
            assert f"Stopped by {sig.name}" in out + err
            assert f"Resume with: gankit train --resume {run}" in out + err
            codes[sig] = proc.returncode
            last = ckpt.latest(run)
            assert last is not None and read_state(last).step >= seen[sig]  # fresh: at or after the signal
            assert 0 < read_state(last).step < 100000
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    assert codes[signal.SIGINT] == 130
    assert codes[signal.SIGTERM] == 143  # 128 + SIGTERM, as shells report a terminated job


@pytest.mark.slow
def test_second_ctrl_c_exits_at_once(tmp_path):
    run = tmp_path / "run"
    # From step 2 on, each D step sleeps 30 s: after one Ctrl-C the run would wait for the step to end.
    proc = popen("train", SMALL, *LONG, f"plugins=[{PLUGINS}]", "loss.name=reliability_slow", "loss.seconds=30",
                 "loss.after=1", f"loss.marker={tmp_path / 'sleeping'}",
                 "--out", run)
    try:
        _wait_for_steps(proc, run, n=1, timeout=180)
        end = time.monotonic() + 60  # inside step 2's D step: no step boundary (where a checkpoint is taken) is near
        while not (tmp_path / "sleeping").exists() and time.monotonic() < end:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert elapsed < 15, f"took {elapsed:.1f} s after the second Ctrl-C"
    assert "interrupted" in err and "Traceback" not in err, err
    assert not list((run / "checkpoints").glob("step-*")) if (run / "checkpoints").exists() else True
