import math

import pytest
import torch

from gankit.config.registry import LOSSES

real = torch.tensor([2.0, -1.0, 0.5])
fake = torch.tensor([-3.0, 0.0, 1.0])


def sp(x):  # softplus: -log(sigmoid(-x)) = log(1 + e^x)
    return torch.log1p(torch.exp(x))


def build(name, **kw):
    return LOSSES.build({"name": name, **kw}, "loss")


def close(a, b):
    assert float(a) == pytest.approx(float(b), rel=1e-5, abs=1e-6)


def test_non_saturating_matches_formula():
    loss = build("non_saturating")
    # -log σ(r) - log(1-σ(f)) = softplus(-r) + softplus(f)
    close(loss.d(real, fake), sp(-real).mean() + sp(fake).mean())
    close(loss.g(fake, real), sp(-fake).mean())


def test_minimax_generator_is_the_saturating_game():
    loss = build("minimax")
    close(loss.d(real, fake), sp(-real).mean() + sp(fake).mean())
    close(loss.g(fake, real), -sp(fake).mean())  # log(1 - σ(f)) = -softplus(f)


def test_hinge():
    loss = build("hinge")
    close(loss.d(real, fake), torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean())
    close(loss.g(fake, real), -fake.mean())


def test_wasserstein():
    loss = build("wasserstein")
    close(loss.d(real, fake), fake.mean() - real.mean())
    close(loss.g(fake, real), -fake.mean())


def test_least_squares():
    loss = build("least_squares")
    close(loss.d(real, fake), 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean())
    close(loss.g(fake, real), 0.5 * ((fake - 1) ** 2).mean())


def test_relativistic_average():
    loss = build("relativistic_average")
    close(loss.d(real, fake), sp(-(real - fake.mean())).mean() + sp(fake - real.mean()).mean())
    close(loss.g(fake, real), sp(-(fake - real.mean())).mean() + sp(real - fake.mean()).mean())


def test_non_saturating_at_chance_is_log4():
    loss = build("non_saturating")
    z = torch.zeros(4)
    close(loss.d(z, z), 2 * math.log(2))


def test_relativistic_pair_matches_the_r3gan_formula_pair_by_pair():
    loss = build("relativistic_pair")
    close(loss.d(real, fake), sp(-(real - fake)).mean())
    close(loss.g(fake, real), sp(-(fake - real)).mean())
    assert loss.g_uses_real  # G's step judges the real batch with the updated D
    r, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    loss.g(f, r).backward()
    assert r.grad is None and f.grad.abs().sum() > 0  # G's loss sends nothing into D's real logits
