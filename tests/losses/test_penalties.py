"""Penalties against closed-form gradients of tiny discriminators."""
import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.config.registry import PENALTIES
from gankit.losses.base import Penalty
from gankit.training.phases import Draws, run_phase


def build(name, **kw):
    return PENALTIES.build({"name": name, **kw}, "penalties[0]")


class LinearD(nn.Module):
    """D(x) = w·x + b: ∇ₓD = w for every x."""

    def __init__(self, w):
        super().__init__()
        self.lin = nn.Linear(w.numel(), 1)
        with torch.no_grad():
            self.lin.weight.copy_(w.view(1, -1))
            self.lin.bias.fill_(0.3)

    def forward(self, x):
        return self.lin(x.flatten(1)).squeeze(1)


class QuadD(nn.Module):
    """D(x) = ½ a ‖x‖²: ∇ₓD = a·x, so ‖∇‖² = a²‖x‖² (depends on x, unlike the linear D)."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(float(a)))

    def forward(self, x):
        return 0.5 * self.a * x.flatten(1).pow(2).sum(1)


def test_r1_matches_closed_form_on_linear_and_quadratic_d():
    torch.manual_seed(0)
    w = torch.randn(1, 2, 3)
    real, fake = torch.randn(5, 1, 2, 3), torch.randn(5, 1, 2, 3)
    r1 = build("r1", gamma=4.0)
    x = r1.inputs(real, fake, step=0)
    assert x.requires_grad and torch.equal(x, real)
    pen = r1(x, LinearD(w)(x), 0)
    assert pen.item() == pytest.approx(4.0 / 2 * w.pow(2).sum().item(), rel=1e-5)
    a = 1.7
    pen = r1(x, QuadD(a)(x), 0)
    expected = 4.0 / 2 * (a**2 * real.flatten(1).pow(2).sum(1)).mean()
    assert pen.item() == pytest.approx(expected.item(), rel=1e-5)


def test_r1_penalty_gradient_reaches_d_parameters():
    # d/da [γ/2 · mean(a²‖x‖²)] = γ · a · mean(‖x‖²)
    real = torch.randn(4, 1, 2, 2)
    D = QuadD(0.5)
    r1 = build("r1", gamma=2.0)
    x = r1.inputs(real, real, 0)
    r1(x, D(x), 0).backward()
    assert D.a.grad.item() == pytest.approx(2.0 * 0.5 * real.flatten(1).pow(2).sum(1).mean().item(), rel=1e-5)


def test_wgan_gp_on_linear_d_and_interpolates():
    w = torch.tensor([0.6, 0.0, 0.0, 0.0])  # ‖∇‖ = 0.6 → (0.6 − 1)² = 0.16
    real, fake = torch.zeros(8, 1, 2, 2), torch.ones(8, 1, 2, 2)
    gp = build("wgan_gp")
    x = gp.inputs(real, fake, step=3)
    assert x.shape == real.shape and x.requires_grad
    eps = 1 - x.flatten(1)  # x̂ = ε·0 + (1 − ε)·1: each sample constant, in [0, 1]
    assert torch.allclose(eps, eps[:, :1].expand_as(eps)) and (eps >= 0).all() and (eps <= 1).all()
    assert eps[:, 0].std() > 0  # one ε per sample
    assert torch.equal(gp.inputs(real, fake, 3), x) and not torch.equal(gp.inputs(real, fake, 4), x)
    assert gp(x, LinearD(w)(x), 3).item() == pytest.approx(10 * 0.16, rel=1e-4)


def test_wgan_gp_on_quadratic_d_is_per_sample():
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    gp = build("wgan_gp", weight=2.0)
    x = gp.inputs(real, fake, 0)
    a = 0.8
    norms = a * x.detach().norm(dim=1)
    expected = 2.0 * (norms - 1).pow(2).mean()
    assert gp(x, QuadD(a)(x), 0).item() == pytest.approx(expected.item(), rel=1e-4)


def test_penalty_under_bf16_autocast_is_fp32_and_close():
    torch.manual_seed(1)
    D = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 1))
    real = torch.randn(8, 1, 3, 4)
    r1 = build("r1", gamma=1.0)
    x = r1.inputs(real, real, 0)
    ref = r1(x, D(x).squeeze(1), 0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = D(x).squeeze(1)
        assert logits.dtype == torch.bfloat16
        pen = r1(x, logits.float(), 0)
    assert pen.dtype == torch.float32
    assert pen.item() == pytest.approx(ref.item(), rel=3e-2)
    pen.backward()
    grads = {n: p.grad for n, p in D.named_parameters()}
    assert grads.pop("3.bias") is None  # ∇ₓD does not depend on the last bias
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values())


def test_weight_clip_clamps_every_parameter_and_has_no_inputs():
    D = nn.Linear(4, 3)
    with torch.no_grad():
        D.weight.copy_(torch.linspace(-1, 1, 12).view(3, 4))
        D.bias.copy_(torch.tensor([0.5, -0.001, 0.002]))
    wc = build("weight_clip", clip=0.01)
    assert wc.inputs(torch.zeros(2, 4), torch.zeros(2, 4), 0) is None  # no term: it acts after D's step
    wc.after_step(D)
    assert D.weight.abs().max().item() == pytest.approx(0.01)
    assert D.bias.tolist() == pytest.approx([0.01, -0.001, 0.002])


@pytest.mark.parametrize("node, key", [({"name": "r1", "gamma": -1}, "r1.gamma"),
                                       ({"name": "weight_clip", "clip": 0}, "weight_clip.clip")])
def test_bad_penalty_arguments_name_the_key(node, key):
    with pytest.raises(GankitError, match=key):
        PENALTIES.build(node, "penalties[0]")


@pytest.mark.slow
def test_trainer_adds_r1_and_applies_weight_clip(tiny_recipe, tmp_path):
    """One real D step: the loss is loss.d + R1 computed by hand, then D's weights are clipped."""
    from gankit.config import recipe
    from gankit.training.trainer import Trainer

    cfg = recipe.load(tiny_recipe, ["trainer.batch_size=8", "data.size=32",
                                    "penalties=[{name: r1, gamma: 3.0}, {name: weight_clip, clip: 0.02}]"])
    tr = Trainer(cfg, tmp_path / "run")
    D = tr.acc.unwrap_model(tr.D)  # no BatchNorm or dropout: deterministic, per-sample
    real, _ = tr.stream.batch(0)
    z, _ = tr.noise(0)
    with torch.no_grad():
        fake = tr.G(z)
    x = real.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x)
    with torch.no_grad():
        expected = tr.loss.d(D(real), D(fake)) + 3.0 / 2 * g.flatten(1).pow(2).sum(1).mean()
    D_phase = tr.phases[0]
    draws = Draws(tr.phases, tr.G, tr.stream, tr.noise, 0, 0, labels=False)
    d_loss = run_phase(D_phase, 0, draws, tr.acc, (tr.G, tr.D), tr.guard)["d_loss"]
    assert d_loss.item() == pytest.approx(expected.item(), rel=1e-4)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.02 + 1e-7


def test_r2_is_r1_on_the_generated_images():
    torch.manual_seed(0)
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    r1, r2 = build("r1", gamma=2.0), build("r2", gamma=2.0)
    assert (r1.labels, r2.labels) == ("real", "fake")  # a conditional D judges them with these labels
    D = QuadD(1.5)
    x = r2.inputs(real, fake, 0)
    assert torch.equal(x, fake) and x.requires_grad
    # ∇ₓ(½ a‖x‖²) = a·x → γ/2·E‖a·x‖²
    expected = 2.0 / 2 * (1.5 ** 2) * fake.pow(2).sum(1).mean()
    assert r2(x, D(x), 0).item() == pytest.approx(expected.item(), rel=1e-5)
    assert torch.equal(r1.inputs(real, fake, 0), real)
    with pytest.raises(GankitError, match="r2.gamma"):
        build("r2", gamma=-1.0)


@pytest.mark.parametrize("name, labels, acts", [("r1", "real", "term"), ("r2", "fake", "term"),
                                                ("wgan_gp", "real", "term"), ("weight_clip", "real", "after_step")])
def test_the_built_in_penalties_declare_what_their_phase_reads(name, labels, acts):
    pen = PENALTIES.build({"name": name}, "penalties[0]")
    assert (pen.network, pen.labels, pen.stateful, pen.logged, pen.adapted) == ("D", labels, False, (), {})
    real, fake = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    assert (pen.inputs(real, fake, 0) is None) == (acts == "after_step")  # weight clipping adds no term


def test_a_penalty_of_g_without_generator_term_says_so():
    class Half(Penalty):
        network = "G"

    with pytest.raises(GankitError, match=r"Half has network = 'G' but no generator_term\(G\)"):
        Half().generator_term(nn.Linear(1, 1))
