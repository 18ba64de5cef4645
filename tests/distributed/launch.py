"""Launching gankit runs as subprocesses (1 process, or N over gloo with torchrun) for these tests."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MLP = HERE / "mlp.yaml"  # BatchNorm-free G and D (probe.py)
REF = HERE / "ref.yaml"  # the reference DCGAN (BatchNorm in G)
METHODS = HERE / "methods.yaml"  # mlp.yaml with ADA, EMA ramp, schedules and lazy R1


def gankit(args, nproc: int = 1, probe: Path | None = None, env: dict | None = None, timeout: int = 240,
           check: bool = True) -> subprocess.CompletedProcess:
    """``gankit ARGS`` in fresh processes: one plain process, or ``nproc`` under torchrun (gloo)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1", "WANDB_MODE": "disabled",
                "PYTHONUNBUFFERED": "1"}
    if probe is not None:
        Path(probe).mkdir(parents=True, exist_ok=True)
        full_env["GANKIT_PROBE_DIR"] = str(probe)
    for k, v in (env or {}).items():  # None removes a variable
        full_env.pop(k, None) if v is None else full_env.__setitem__(k, v)
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
                if nproc > 1 else [sys.executable])
    proc = subprocess.run(launcher + ["-m", "gankit", "train", *map(str, args)], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"gankit {' '.join(map(str, args))} (nproc={nproc}) exited {proc.returncode}:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def probes(probe_dir: Path, rank: int = 0) -> list[dict]:
    return [json.loads(line) for line in (Path(probe_dir) / f"rank{rank}.jsonl").read_text().splitlines()]


def steps(probe_dir: Path, rank: int = 0) -> list[dict]:
    return [r for r in probes(probe_dir, rank) if "step" in r]


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def params(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    """G's and D's trainable parameters in checkpoint ``step`` (BatchNorm running stats left out)."""
    ck = Path(run_dir) / "checkpoints" / f"step-{step:07d}"
    out = {}
    for net, file in (("G", "model.safetensors"), ("D", "model_1.safetensors")):
        for k, v in load_file(str(ck / file)).items():
            if not k.endswith(("running_mean", "running_var", "num_batches_tracked")):
                out[f"{net}.{k}"] = v
    return out


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
