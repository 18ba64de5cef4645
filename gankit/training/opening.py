"""What a run says about itself before its first step, and writes down in ``machine.json``.

A few short lines, one fact each, easy to grep in a log::

    run: runs/mnist_dcgan-20261207-101500
    device: cpu ×1 (AMD EPYC 7B13, 2 threads)
    precision: no (fp32; recipe said auto)
    steps: 790 (10 epochs of 79 batches of 128)
    data: mnist test, 10,000 images
    trackers: none

The same choices (device, world size, resolved precision, steps, data) go into the run's
``machine.json`` (``gankit.store.machine``), with the machine they were made on.
"""
from gankit.errors import printable
from gankit.store import machine


def choices(trainer, trackers, resumed_at: int | None) -> dict:
    """What this run chose on this machine, as ``machine.json`` keeps it."""
    acc, t, cfg = trainer.acc, trainer.t, trainer.cfg
    return {
        "device": acc.device.type, "world_size": acc.num_processes,
        "precision": acc.mixed_precision, "precision_recipe": str(t.precision),
        "steps": trainer.max_steps, "steps_per_epoch": trainer.stream.steps_per_epoch,
        "batch_size": t.batch_size, "d_steps": t.d_steps, "dataset": str(cfg.data.name),
        "split": None if cfg.data.get("split") is None else str(cfg.data.split),
        "num_images": len(trainer.parts.data), "trackers": [str(k) for k in trackers], "resumed_at_step": resumed_at,
    }


def lines(run_dir, run: dict, host: dict) -> list[str]:
    """The opening lines of a run from its ``choices`` and ``machine.describe()``."""
    if run["device"] == "cuda":
        gpus = sorted(set(host["gpus"]))
        where = ", ".join(gpus) if gpus else "GPU"
    else:
        where = f"{host['cpu']}, {host['threads']} threads"
    precision = run["precision"] + _gloss(run["precision"], run["precision_recipe"])
    per_epoch, steps = run["steps_per_epoch"], run["steps"]
    batches = (f"{per_epoch} batches of {run['batch_size']}" if run["d_steps"] == 1 else
               f"{per_epoch} steps of {run['d_steps']} batches of {run['batch_size']}")
    resumed = "" if run["resumed_at_step"] is None else f", resuming at step {run['resumed_at_step']}"
    data = run["dataset"] + (f" {run['split']}" if run["split"] else "")
    return [f"run: {run_dir}", f"device: {run['device']} ×{run['world_size']} ({where})", f"precision: {precision}",
            f"steps: {steps} ({steps / per_epoch:.3g} epoch{'' if steps == per_epoch else 's'} of {batches}){resumed}",
            f"data: {data}, {run['num_images']:,} images", f"trackers: {', '.join(run['trackers']) or 'none'}"]


def _gloss(resolved: str, asked: str) -> str:
    notes = (["fp32"] if resolved == "no" else []) + ([f"recipe said {asked}"] if asked != resolved else [])
    return f" ({'; '.join(notes)})" if notes else ""


def announce(trainer, trackers, resumed_at: int | None = None) -> list[str]:
    """On the main process: write ``machine.json`` and print the opening lines (returned)."""
    if not trainer.acc.is_main_process:
        return []
    run = choices(trainer, trackers, resumed_at)
    host = machine.read(machine.write(trainer.run_dir, **run).parent) or machine.describe()
    out = lines(trainer.run_dir, run, host)
    print(printable("\n".join(out)), flush=True)  # paths and names may hold terminal control characters
    return out
