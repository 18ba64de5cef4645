"""SIGKILL at random moments while checkpoints are being written: the run always resumes from a
complete checkpoint (each round starts with `gankit train --resume`, which fails on a broken one)."""
import random
import signal
import time

import pytest

from gankit.training import checkpoint as ckpt

from .helpers import SMALL, load_checkpoint, popen

ROUNDS = 5


@pytest.mark.slow
def test_sigkill_during_checkpoint_writes_always_leaves_a_resumable_run(tmp_path):
    run = tmp_path / "run"
    rng = random.Random(1234)
    args = [SMALL, "trainer.max_steps=100000", "trainer.checkpoint_every=1", "trainer.keep_checkpoints=2",
            "trainer.log_every=1000", "ema.enabled=true"]
    last_step = 0
    for round_ in range(ROUNDS):
        proc = popen("train", *args, "--out", run) if round_ == 0 else popen("train", "--resume", run)
        try:
            # wait for this process to publish a checkpoint of its own, then kill it at a random moment
            end = time.monotonic() + 120
            while time.monotonic() < end:
                assert proc.poll() is None, f"round {round_}: {proc.communicate()[1][-3000:]}"
                latest = ckpt.latest(run)
                if latest is not None and ckpt.read_state(latest)["step"] > last_step:
                    break
                time.sleep(0.01)
            else:
                pytest.fail(f"round {round_}: no new checkpoint in time")
            time.sleep(rng.uniform(0.0, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        latest = ckpt.latest(run)
        assert latest is not None
        state = load_checkpoint(latest)  # every file complete and readable
        assert {"model.safetensors", "model_1.safetensors", "ema.safetensors", "optimizer.bin"} <= set(state)
        assert state["state.json"]["step"] > last_step
        last_step = state["state.json"]["step"]
    # a final resume finishes cleanly two steps later
    from .helpers import gankit

    done = gankit("resume", run, f"trainer.max_steps={last_step + 2}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert ckpt.read_state(ckpt.latest(run))["step"] == last_step + 2
    assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
