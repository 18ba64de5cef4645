"""A test fixture, not a user option: accelerate on the CPU in the state it has on CUDA with fp16.

With ``trainer.precision=fp16`` on a CUDA GPU accelerate wraps each prepared network's forward in
``torch.autocast(dtype=float16)`` (``native_amp``) and gives every prepared optimizer its
``GradScaler``: ``backward`` scales the loss, ``optimizer.step`` unscales, skips an overflowed
update and updates the scale, ``save_state`` writes the scaler's state (``scaler.pt``). On a CPU it
does none of this (fp16 would silently train in fp32), which is why gankit refuses fp16 there.
torch itself runs float16 autocast and ``torch.amp.GradScaler("cpu")`` on the CPU, so this fixture
lifts the refusal and sets those two things, ``native_amp`` and ``scaler``, on the Accelerator the
trainer makes, before anything is prepared: gankit's own fp16 code then runs here as on a GPU
(in emulated, slow fp16 kernels: keep these runs tiny).
"""
import pytest
import torch

from gankit.config import validate
from gankit.training import accel
from gankit.training import trainer as trainer_mod

REFUSAL = "trainer.precision: fp16"


def as_on_cuda(acc, **scaler_kwargs):
    """``acc`` (made with mixed_precision="fp16" on the CPU) as accelerate sets it up on CUDA: float16
    autocast in the forwards it prepares (its state's ``mixed_precision`` is already fp16) and a grad scaler."""
    assert acc.mixed_precision == "fp16" and acc.device.type == "cpu" and acc.scaler is None
    acc.native_amp = True
    acc.scaler = torch.amp.GradScaler("cpu", **scaler_kwargs)
    return acc


class FP16:
    """What ``fp16_on_cpu`` gives a test: the scaler's arguments for the next trainers (``scaler_kwargs``,
    e.g. ``init_scale``) and the Accelerators it set up (``made``)."""

    def __init__(self):
        self.scaler_kwargs: dict = {}
        self.made: list = []


@pytest.fixture
def fp16_on_cpu(monkeypatch):
    """Trainers made in this test get accelerate's CUDA fp16 state (``as_on_cuda``) when their recipe
    says trainer.precision=fp16; the validator's CPU refusal of fp16 is lifted, and so is the warning
    that times fp16 matmuls here (emulated on a CPU, as the warning would say)."""
    fp16 = FP16()
    refuse, make = validate.settings_problems, trainer_mod.make_accelerator

    def settings_problems(cfg):
        return [p for p in refuse(cfg) if not p.startswith(REFUSAL)]

    def make_accelerator(cfg):
        acc = make(cfg)
        if cfg.trainer.precision == "fp16":
            fp16.made.append(as_on_cuda(acc, **fp16.scaler_kwargs))
        return acc

    monkeypatch.setattr(validate, "settings_problems", settings_problems)
    monkeypatch.setattr(trainer_mod, "make_accelerator", make_accelerator)
    monkeypatch.setattr(accel, "warn_if_emulated", lambda *args: None)
    return fp16
