"""Launching a gankit run as two torchrun "nodes" on this machine (one process each, gloo), the way two
machines would launch it (--nnodes 2 --node_rank 0|1 --master_addr --master_port)."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from launch import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, logs: Path, nnodes: int = 2, env: dict | None = None) -> list[subprocess.Popen]:
    """``gankit train ARGS`` on ``nnodes`` torchrun nodes; node r's output goes to ``logs/node<r>.log``."""
    port, logs = free_port(), Path(logs)
    logs.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1", "WANDB_MODE": "disabled",
                "PYTHONUNBUFFERED": "1", "GLOO_SOCKET_IFNAME": "lo", **(env or {})}
    procs = []
    for rank in range(nnodes):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(nnodes), "--node_rank", str(rank),
               "--nproc_per_node", "1", "--master_addr", "127.0.0.1", "--master_port", str(port),
               "-m", "gankit", "train", *map(str, args)]
        with open(logs / f"node{rank}.log", "w") as log:
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def wait(procs: list[subprocess.Popen], logs: Path, timeout: float = 240) -> list[int]:
    """Every node's exit status (all of them killed if one outlives ``timeout``)."""
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        raise AssertionError(f"nodes still running after {timeout} s:\n{log_tail(logs)}") from None


def run(args, logs: Path, **kw) -> None:
    """Start, wait, and fail with the nodes' logs unless every node exited 0."""
    codes = wait(start(args, logs, **kw.pop("start", {})), logs, **kw)
    assert codes == [0] * len(codes), f"node exit codes {codes}:\n{log_tail(logs)}"


def log_tail(logs: Path, chars: int = 3000) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-chars:]}" for p in sorted(Path(logs).glob("node*.log")))


def worker_pid(agent: subprocess.Popen, timeout: float = 60) -> int:
    """The pid of the training process a torchrun node started: its child running ``gankit`` (the agent may
    also have short-lived helpers, which are not the worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{agent.pid}/task/{agent.pid}/children")
        for pid in children.read_text().split() if children.exists() else []:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:  # it ended meanwhile
                continue
            if b"gankit" in argv:
                return int(pid)
        time.sleep(0.1)
    raise AssertionError(f"torchrun node {agent.pid} started no worker within {timeout} s")
