"""The multi-node path: two torchrun "nodes" on this machine (--nnodes 2 --node_rank 0|1 --master_addr
127.0.0.1, one process each, gloo) train the reference recipe's tiny run, write one run, resume exactly."""
import shutil

import pytest

import nodes
from launch import REF, max_diff, metrics, params

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

COMMON = ["trainer.max_steps=4", "trainer.log_every=1", "trainer.checkpoint_every=2", "trainer.sample_every=2"]


def test_two_nodes_write_one_run_and_resume_exactly(tmp_path):
    nodes.run([REF, *COMMON, f"output.root={tmp_path / 'runs'}"], tmp_path / "logs")
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs  # one name, chosen on node 0 and broadcast to node 1
    run = runs[0]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-0000002", "step-0000004"]
    files = {p.name for p in (run / "checkpoints" / "step-0000004").iterdir()}
    assert {"random_states_0.pkl", "random_states_1.pkl"} <= files  # both nodes' processes saved their state
    rows = metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # written once, by rank 0
    assert all((r["batch_global"], r["batch_per_process"]) == (32, 16) for r in rows)  # the batch is split
    # the run as it was after its step-2 checkpoint, resumed on two nodes again
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints" / "step-0000004")
    nodes.run(["--resume", copy], tmp_path / "logs-resume")
    assert max_diff(params(copy, 4), params(run, 4)) == 0.0
    assert [r["step"] for r in metrics(copy)] == [1, 2, 3, 4]
