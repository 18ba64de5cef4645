"""Shared helpers of the reliability tests: subprocess runs and exact checkpoint comparison."""
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
SMALL = HERE / "recipes" / "small.yaml"
METHODS = HERE / "recipes" / "methods.yaml"  # small.yaml with ADA, EMA ramp, schedules and lazy R1
PLUGINS = HERE / "plugins_rel.py"
ROOT = HERE.parents[1]


def env(**extra) -> dict:
    e = dict(os.environ)
    e.update(OMP_NUM_THREADS="1", WANDB_MODE="disabled", PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    e.update({k: str(v) for k, v in extra.items()})
    return e


def gankit(*args, hashseed: int | None = None, timeout: float = 180, **kw) -> subprocess.CompletedProcess:
    """``python -m gankit ARGS`` in a fresh process (its own PYTHONHASHSEED when given)."""
    extra = {"PYTHONHASHSEED": hashseed} if hashseed is not None else {}
    return subprocess.run([sys.executable, "-m", "gankit", *map(str, args)], capture_output=True, text=True,
                          env=env(**extra), timeout=timeout, cwd=kw.get("cwd", ROOT))


def popen(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gankit", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT, **kw)


def load_checkpoint(path: Path) -> dict:
    """Every tensor and number of a checkpoint, by file: models, EMA, optimizers, counters, parts' state."""
    import json

    out = {}
    for f in sorted(Path(path).iterdir()):
        if f.suffix == ".safetensors":
            out[f.name] = load_file(str(f))
        elif f.suffix == ".bin":
            out[f.name] = torch.load(f, weights_only=True)
        elif f.name == "state.json":
            state = json.loads(f.read_text())
            out[f.name] = {k: state[k] for k in ("step", "batch", "skipped")}
            if state.get("parts"):
                out["parts"] = state["parts"]  # the state of stateful parts (adaptive augmentation)
    return out


def assert_identical(a, b, where="checkpoint"):
    """Bit-for-bit equality of nested tensors/containers (NaN-safe: compares the bytes)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8)), f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"
        for k in a:
            assert_identical(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
