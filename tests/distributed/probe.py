"""Test-only plugin: a BatchNorm-free MLP G/D pair, and per-process probes written to files.

Loaded with a recipe's ``plugins: [probe.py]``. Probes are active only when the environment
variable GANKIT_PROBE_DIR names a folder; each process then appends JSON lines to
``rank<r>.jsonl`` there: parameter checksums after every step, the dtypes seen inside the
models' Linear/Conv layers (first step), and gradient norms before/after clipping.
"""
import hashlib
import json
import math
import os

import torch
from torch import nn

from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.training import phases
from gankit.training.trainer import Trainer

PROBE_DIR = os.environ.get("GANKIT_PROBE_DIR")


@GENERATORS.register("probe_mlp")
class ProbeMLPGenerator(nn.Module):
    """z → Linear → LeakyReLU → Linear → tanh; no BatchNorm, so per-process batches do not matter."""

    def __init__(self, img_shape: tuple = (1, 28, 28), z_dim: int = 16, hidden: int = 64):
        super().__init__()
        self.z_dim, self.img_shape = z_dim, tuple(img_shape)
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, math.prod(img_shape)), nn.Tanh())

    def forward(self, z, y=None):
        return self.net(z).view(-1, *self.img_shape)


@DISCRIMINATORS.register("probe_mlp")
class ProbeMLPDiscriminator(nn.Module):
    def __init__(self, img_shape: tuple = (1, 28, 28), hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(img_shape), hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, x, y=None):
        return self.net(x).squeeze(1)


def _write(trainer, record: dict) -> None:
    path = os.path.join(PROBE_DIR, f"rank{trainer.acc.process_index}.jsonl")
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _checksum(model) -> dict:
    params = [p.detach().float().cpu().contiguous() for p in model.parameters()]
    digest = hashlib.sha256(b"".join(p.numpy().tobytes() for p in params)).hexdigest()
    return {"sha": digest, "sum": sum(float(p.double().sum()) for p in params),
            "dtypes": sorted({str(p.dtype) for p in model.parameters()})}


def _dtype_hooks(trainer) -> dict:
    seen = {"G": set(), "D": set()}
    layers = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
    for name, model in (("G", trainer.G), ("D", trainer.D)):
        for mod in trainer.acc.unwrap_model(model).modules():
            if isinstance(mod, layers):
                mod.register_forward_hook(lambda m, i, o, s=seen[name]: s.add(str(o.dtype)))
    return seen


if PROBE_DIR:
    _step, _clip = Trainer.step, phases.clip
    _current = {}

    def step(self):
        acc = self.acc
        first = not hasattr(self, "_probe_seen")
        _current["trainer"] = self
        if first:
            self._probe_seen = _dtype_hooks(self)
            before = {"G": _checksum(acc.unwrap_model(self.G)), "D": _checksum(acc.unwrap_model(self.D))}
        out = _step(self)
        record = {"step": self.state.step + 1, "batch": self.state.batch, "local": self.stream.local,
                  "G": _checksum(acc.unwrap_model(self.G)), "D": _checksum(acc.unwrap_model(self.D)),
                  "stats": [float(out[k]) for k in ("d_loss", "g_loss", "d_real", "d_fake")]}
        if first:
            record["layer_dtypes"] = {k: sorted(v) for k, v in self._probe_seen.items()}
            record["before"] = before
        _write(self, record)
        return out

    def clip(model, opt, max_norm, acc):
        def norm():
            grads = [p.grad.detach().float().norm() for p in model.parameters() if p.grad is not None]
            return float(torch.stack(grads).norm()) if grads else 0.0

        trainer = _current["trainer"]
        pre = norm() if max_norm else None
        _clip(model, opt, max_norm, acc)
        if pre is not None:
            _write(trainer, {"clip": "D" if model is trainer.D else "G", "max": max_norm, "pre": pre, "post": norm()})

    Trainer.step, phases.clip = step, clip
