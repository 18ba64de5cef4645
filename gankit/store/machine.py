"""The machine a run trained on: described once, when training starts, in ``machine.json``.

A report, a comparison or a result record reads what trained the run from here, not from the machine
that happens to read it. ``describe`` is also what a record of a measurement names as its machine.
"""
import os
import platform
import socket
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from gankit.store.files import read_json, write_json_atomic

MACHINE_FILE = "machine.json"
# the instruction-set flags that decide how fast fp32 and bf16 run on a CPU
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def _cpuinfo() -> tuple[str, list[str]]:
    """The CPU's model name and which of ``CPU_FLAGS`` it has (Linux; elsewhere the platform's name)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), []
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                 platform.processor() or platform.machine())
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return model, [f for f in CPU_FLAGS if f in flags]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def describe() -> dict:
    """This machine: host, CPU model and flags, cores and threads, GPUs, the versions that matter, and its load."""
    import torch

    model, flags = _cpuinfo()
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {
        "host": socket.gethostname(),
        "cpu": model,
        "cpu_flags": flags,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "gpus": gpus,
        "cuda": torch.version.cuda if gpus else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "accelerate": _version("accelerate"),
        "gankit": _version("gankit"),
        "platform": platform.platform(),
        "load_1m": _load(),  # how busy the machine was when this was written: timings on a loaded one are slower
    }


def source_commit() -> dict:
    """The git commit of gankit's own source tree (``git rev-parse HEAD`` beside the package) and whether its
    tracked files differ from it; ``{"sha": None, "dirty": None}`` for an installed copy without git."""
    here = Path(__file__).resolve().parent
    try:
        run = dict(capture_output=True, text=True, check=True, cwd=here, timeout=10)
        sha = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout.strip())
        return {"sha": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def write(run_dir: str | Path, **run) -> Path:
    """Write ``machine.json``: ``describe()``, the commit of the code that trains (``source_commit``) and what
    this run chose on it (device, world size, resolved precision, ...), with the time it started."""
    path = Path(run_dir) / MACHINE_FILE
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json_atomic(path, {**describe(), "commit": source_commit(), **run, "started": started})
    return path


def read(run_dir: str | Path) -> dict | None:
    """The training machine of a run, or None for a run written before runs described their machine (or
    whose file is unreadable)."""
    try:
        data = read_json(Path(run_dir) / MACHINE_FILE)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
