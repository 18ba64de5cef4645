"""gankit's fp16 path, run on the CPU with accelerate in its CUDA fp16 state (the ``fp16_on_cpu``
fixture, tests/training/conftest.py): float16 autocast in the prepared networks and a GradScaler.
fp16 kernels are emulated on a CPU: every run here is a few steps on a few images."""
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gankit.config import recipe
from gankit.store import checkpoints as ckpt
from gankit.training.trainer import Trainer

HERE = Path(__file__).resolve().parent
STYLEGAN2 = HERE.parent / "reliability" / "recipes" / "stylegan2.yaml"  # R1 every 3rd step, path length every 2nd
SMALL = ["trainer.precision=fp16", "trainer.batch_size=8", "trainer.num_grid=4", "trainer.log_every=1",
         "trainer.sample_every=1000", "trainer.checkpoint_every=1000"]


def _params(net) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _changed(before, tr) -> bool:
    """Both networks' first parameter moved since ``before`` (both optimizers really stepped)."""
    return not any(torch.equal(a[0], b) for a, b in zip(before, (_params(tr.D)[0], _params(tr.G)[0])))


def _finite(summary: dict) -> bool:
    return all(torch.isfinite(torch.tensor(summary[k])) for k in ("d_loss", "g_loss"))


def test_the_reference_recipe_trains_in_fp16_with_fp32_parameters(fp16_on_cpu, tiny_recipe, tmp_path):
    tr = Trainer(recipe.load(tiny_recipe, [*SMALL, "trainer.max_steps=2"]), tmp_path / "run")
    assert tr.d_opt.scaler is tr.g_opt.scaler is fp16_on_cpu.made[0].scaler  # accelerate's one scaler
    seen = []
    conv = next(m for m in tr.acc.unwrap_model(tr.D).modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    before = _params(tr.D), _params(tr.G)
    summary = tr.fit()
    assert summary["step"] == 2 and summary["precision"] == "fp16" and _finite(summary)
    assert set(seen) == {torch.float16}  # D's convolutions really ran in fp16 ...
    assert {p.dtype for p in tr.D.parameters()} == {torch.float32}  # ... on fp32 weights, which both trained
    assert _changed(before, tr)
    assert tr.state.skipped == 0


@pytest.mark.parametrize("source, over", [
    ("tiny", ["penalties=[{name: r1, gamma: 1.0}]"]),
    ("tiny", ["penalties=[{name: r2, gamma: 1.0}]"]),
    ("tiny", ["loss.name=wasserstein", "penalties=[{name: wgan_gp, weight: 10.0}]"]),
    ("stylegan2", ["trainer.batch_size=4", "trainer.num_grid=10", "augment.p=0.0"]),  # R1 and path length due at step 0
    ("stylegan2", ["trainer.batch_size=4", "trainer.num_grid=10", "augment.p=0.0",  # per-layer: 16, 8 in fp16
                   *(f"{net}.{arg}" for net in ("generator", "discriminator")
                     for arg in ("num_fp16_res=2", "conv_clamp=256"))]),
])
def test_every_penalty_trains_in_fp16_at_the_scalers_scale(fp16_on_cpu, tiny_recipe, tmp_path, source, over):
    fp16_on_cpu.scaler_kwargs = {"init_scale": 2.0 ** 10}
    path = tiny_recipe if source == "tiny" else STYLEGAN2
    tr = Trainer(recipe.load(path, [*SMALL, "trainer.max_steps=2", *over]), tmp_path / "run")
    summary = tr.fit()
    assert summary["step"] == 2 and _finite(summary) and tr.state.skipped == 0
    for p in tr.parts.penalties:  # each penalty's input gradient was taken at the scaler's scale
        assert isinstance(p.module.grad_scale, torch.Tensor) and p.module.grad_scale.item() == 2.0 ** 10


def test_an_overflow_skips_the_step_and_lowers_the_scale(fp16_on_cpu, tiny_recipe, tmp_path):
    tr = Trainer(recipe.load(tiny_recipe, [*SMALL, "trainer.max_steps=2", "penalties=[{name: r1, gamma: 1.0}]"]),
                 tmp_path / "run")
    scaler = tr.acc.scaler
    scaler.scale(torch.ones(()))  # made lazily: set it up, then force a scale at which fp16 gradients overflow
    scaler.update(2.0 ** 40)
    before = _params(tr.D), _params(tr.G)
    stats = tr.step()
    assert not tr.guard.counts(stats, tr.state)  # the step does not count ...
    assert tr.state.step == 0 and tr.state.skipped == 1  # ... and is counted as skipped
    assert all(torch.equal(a, b) for a, b in zip(before[0] + before[1], _params(tr.D) + _params(tr.G)))
    assert scaler.get_scale() == 2.0 ** 38  # halved at each of the two skipped updates
    assert all(s["step"] == 0 for s in tr.d_opt.optimizer.state.values())  # the fused Adam kernel skipped too
    scaler.update(2.0 ** 10)  # a scale that fits: the next step trains and counts
    assert tr.guard.counts(tr.step(), tr.state) and tr.state.skipped == 1 and scaler.get_scale() == 2.0 ** 10
    assert not torch.equal(before[0][0], _params(tr.D)[0])


def test_gradient_accumulation_updates_and_scales_once_per_step(fp16_on_cpu, tiny_recipe, tmp_path):
    # growth_interval 1: every unskipped scaler.update() doubles the scale, so the scale counts the updates
    fp16_on_cpu.scaler_kwargs = {"init_scale": 2.0 ** 6, "growth_interval": 1}
    tr = Trainer(recipe.load(tiny_recipe, [*SMALL, "trainer.max_steps=2", "trainer.grad_accum=2"]), tmp_path / "run")
    before = _params(tr.D), _params(tr.G)
    summary = tr.fit()
    assert summary["step"] == 2 and _finite(summary) and summary["batch_global"] == 8
    assert summary["batch_per_process"] == 4 and tr.state.skipped == 0  # micro-batches of 4
    assert tr.acc.scaler.get_scale() == 2.0 ** (6 + 4)  # 2 steps × (D, G): one update each, not one per micro-batch
    assert _changed(before, tr)


def test_resume_in_fp16_is_bit_identical_scale_included(fp16_on_cpu, tiny_recipe, tmp_path):
    fp16_on_cpu.scaler_kwargs = {"init_scale": 2.0 ** 6, "growth_interval": 1}  # the scale changes every update
    cfg = recipe.load(tiny_recipe, [*SMALL, "trainer.max_steps=4", "trainer.checkpoint_every=2",
                                    "penalties=[{name: r1, gamma: 1.0, interval: 2}]"])
    full, cut = tmp_path / "full", tmp_path / "cut"
    Trainer(cfg, full).fit()
    shutil.copytree(full, cut)
    shutil.rmtree(ckpt.latest(cut))  # as if stopped after the step-2 checkpoint
    assert torch.load(ckpt.latest(cut) / "scaler.pt")["scale"] == 2.0 ** (6 + 4)  # saved by save_state
    resumed = Trainer(cfg, cut, resume=True)
    assert resumed.acc.scaler.get_scale() == 2.0 ** 10  # restored, not the initial 2⁶
    resumed.fit()
    want, got = ckpt.latest(full), ckpt.latest(cut)
    assert got.name == want.name == "step-0000004"
    assert torch.load(got / "scaler.pt") == torch.load(want / "scaler.pt")
    assert torch.load(got / "scaler.pt")["scale"] == 2.0 ** 14
    for name in ("model.safetensors", "model_1.safetensors"):
        a, b = load_file(str(want / name)), load_file(str(got / name))
        assert all(torch.equal(a[k], b[k]) for k in a)
    for name in ("optimizer.bin", "optimizer_1.bin"):
        a, b = torch.load(want / name), torch.load(got / name)
        assert all(torch.equal(a["state"][i][k], b["state"][i][k]) for i in a["state"] for k in a["state"][i])
