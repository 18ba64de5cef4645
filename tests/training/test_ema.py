"""EMA of G: the update formula, the start step, buffers, and its use in a real run."""
import pytest
import torch
from torch import nn

from gankit.config import recipe
from gankit.training.ema import EMA


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def test_update_is_decay_weighted_average():
    G = net()
    ema = EMA(G, decay=0.9)
    w0 = G[0].weight.detach().clone()
    assert not ema.model.training and not any(p.requires_grad for p in ema.model.parameters())
    with torch.no_grad():
        G[0].weight.add_(1.0)
    ema.update(G, step=0)
    assert torch.allclose(ema.model[0].weight, 0.9 * w0 + 0.1 * (w0 + 1.0))
    with torch.no_grad():
        G[0].weight.add_(1.0)
    ema.update(G, step=1)
    # s2 = 0.9·s1 + 0.1·(w0 + 2) = w0 + 0.9·0.1 + 0.2 = w0 + 0.29
    assert torch.allclose(ema.model[0].weight, w0 + 0.29, atol=1e-6)
    assert G[0].weight.data_ptr() != ema.model[0].weight.data_ptr()  # a copy, not a view


def test_before_start_the_ema_copies_g():
    G = net()
    ema = EMA(G, decay=0.99, start=5)
    with torch.no_grad():
        G[0].bias.fill_(3.0)
    ema.update(G, step=4)
    assert torch.equal(ema.model[0].bias, G[0].bias)
    with torch.no_grad():
        G[0].bias.fill_(4.0)
    ema.update(G, step=5)
    assert torch.allclose(ema.model[0].bias, torch.full((2,), 0.99 * 3.0 + 0.01 * 4.0))


def test_buffers_are_copied_not_averaged():
    G = net()
    ema = EMA(G, decay=0.5)
    G.train()(torch.randn(8, 3) * 5 + 2)  # moves BN running stats
    ema.update(G, step=0)
    assert torch.equal(ema.model[1].running_mean, G[1].running_mean)
    assert torch.equal(ema.model[1].num_batches_tracked, G[1].num_batches_tracked)


@pytest.mark.slow
def test_ema_in_a_four_step_run_follows_the_formula(tiny_recipe, tmp_path):
    """Replays the EMA from G's weights after each real training iteration."""
    from gankit.training.trainer import Trainer

    cfg = recipe.load(tiny_recipe, ["ema.enabled=true", "ema.decay=0.5", "ema.start=2", "trainer.max_steps=4",
                                    "trainer.batch_size=16", "data.size=64"])
    tr = Trainer(cfg, tmp_path / "run")
    G = tr.acc.unwrap_model(tr.G)
    expected = {n: p.detach().clone() for n, p in G.named_parameters()}
    for step in range(4):
        tr.step()
        for n, p in G.named_parameters():
            expected[n] = p.detach().clone() if step < 2 else 0.5 * expected[n] + 0.5 * p.detach()
        tr.state.step += 1
    for n, p in tr.ema.model.named_parameters():
        assert torch.allclose(p, expected[n], atol=1e-6), n
    assert tr.sampler_model() is tr.ema.model
