"""Generators from trained runs: load_generator (run dir or checkpoint, EMA or not) and sample."""
import shutil

import pytest
import torch

from gankit.cli import main
from gankit.errors import GankitError
from gankit.runs.inference import load_generator, sample
from gankit.store.files import EMA_FILE


@pytest.mark.slow
def test_load_generator_run_vs_checkpoint_and_errors(run_dir, tmp_path):
    ck = run_dir / "checkpoints" / "step-0000004"
    a, b = sample(load_generator(run_dir), 4, 0), sample(load_generator(ck), 4, 0)
    assert torch.equal(a, b) and a.abs().max() <= 1
    assert not torch.equal(a, sample(load_generator(ck, ema=False), 4, 0))  # EMA weights differ
    with pytest.raises(GankitError, match="no such run or checkpoint"):
        load_generator(tmp_path / "nope")
    bad = tmp_path / "run"
    shutil.copytree(run_dir, bad)
    (bad / "checkpoints" / "step-0000004" / EMA_FILE).write_bytes(b"not tensors")
    with pytest.warns(RuntimeWarning, match="step-0000004 is damaged: ema.safetensors is damaged"):
        load_generator(bad)  # the newest intact checkpoint instead (tests/reliability/test_damaged.py)
    with pytest.raises(GankitError, match="step-0000004: ema.safetensors is damaged"):
        load_generator(bad / "checkpoints" / "step-0000004")
    assert main(["sample", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png")]) == 2


# -- truncation ------------------------------------------------------------------------------
from torch import nn  # noqa: E402

from gankit.config.registry import GENERATORS  # noqa: E402
from gankit.metrics.draws import latents  # noqa: E402
from gankit.runs.inference import check_truncation, generate, truncation_kind  # noqa: E402


def small_mlp():
    torch.manual_seed(0)
    return GENERATORS.build({"name": "mlp", "hidden": [16], "z_dim": 8}, "generator", {"img_shape": (1, 4, 4)}).eval()


def test_z_truncation_scales_the_latents_and_is_a_function_of_the_seed():
    G = small_mlp()
    assert truncation_kind(G) == "z"
    assert torch.equal(sample(G, 4, 3, truncation=1.0), sample(G, 4, 3))
    with torch.no_grad():
        expected = G(latents(4, 8, 3) * 0.5).clamp(-1, 1)
    assert torch.equal(sample(G, 4, 3, truncation=0.5), expected)
    assert torch.equal(sample(G, 4, 3, truncation=0.5), sample(G, 4, 3, truncation=0.5))
    assert not torch.equal(sample(G, 4, 3, truncation=0.5), sample(G, 4, 4, truncation=0.5))
    mean = sample(G, 3, 0, truncation=0.0)
    assert torch.equal(mean[0], mean[1]) and torch.equal(mean[1], mean[2])  # ψ = 0: the image of z = 0


class MappingToy(nn.Module):
    """The mapping-network protocol: ``w_avg`` and ``forward(z, labels=None, truncation_psi=1.0)``."""

    z_dim = 4

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.register_buffer("w_avg", torch.full((4,), 0.25))
        self.seen = []

    def forward(self, z, labels=None, truncation_psi=1.0):
        self.seen.append(truncation_psi)
        w = self.lin(z)
        return self.w_avg.lerp(w, truncation_psi).view(-1, 1, 2, 2).tanh()


def test_w_truncation_goes_to_a_mapping_network_and_leaves_z_alone():
    G = MappingToy()
    assert truncation_kind(G) == "w"
    z = latents(3, 4, 0)
    out = generate(G, z, truncation=0.0)
    assert G.seen == [0.0] and torch.allclose(out, torch.full_like(out, 0.25).tanh())
    with torch.no_grad():
        assert torch.equal(generate(G, z, truncation=0.6), G(z, None, truncation_psi=0.6))


@pytest.mark.parametrize("psi", [-0.1, 1.5, float("nan"), "abc", None])
def test_check_truncation_refuses_values_outside_0_1(psi):
    with pytest.raises(GankitError, match="truncation: ψ must be a number from 0 to 1"):
        check_truncation(psi)
    assert check_truncation("0.7") == 0.7
