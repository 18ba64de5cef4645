"""gankit.models.mlp: fully connected G and D for any image shape."""
import torch
from torch import nn

from gankit.config.registry import DISCRIMINATORS, GENERATORS


def pair(shape, g_args=None, d_args=None):
    ctx = {"img_shape": shape}
    return (GENERATORS.build({"name": "mlp", **(g_args or {"hidden": [32, 32]})}, "generator", ctx),
            DISCRIMINATORS.build({"name": "mlp", **(d_args or {"hidden": [32, 16]})}, "discriminator", ctx))


def test_mlp_takes_any_shape():
    G, D = pair((2, 10, 6))
    x = G(torch.randn(2, 100))
    assert x.shape == (2, 2, 10, 6) and D(x).shape == (2,)


def test_generator_layers_follow_hidden_and_batch_norm():
    G, _ = pair((1, 4, 5), {"hidden": [8, 16], "z_dim": 3})
    lin = [(m.in_features, m.out_features) for m in G.modules() if isinstance(m, nn.Linear)]
    assert lin == [(3, 8), (8, 16), (16, 20)] and G.z_dim == 3
    assert sum(isinstance(m, nn.BatchNorm1d) for m in G.modules()) == 2
    plain, _ = pair((1, 4, 5), {"hidden": [8], "batch_norm": False})
    assert not any(isinstance(m, nn.BatchNorm1d) for m in plain.modules())
    x = plain(torch.randn(3, 100))
    assert x.min() >= -1 and x.max() <= 1  # tanh


def test_discriminator_layers_dropout_and_features():
    _, D = pair((3, 4, 4), d_args={"hidden": [10, 6], "dropout": 0.5})
    lin = [(m.in_features, m.out_features) for m in D.modules() if isinstance(m, nn.Linear)]
    assert lin == [(48, 10), (10, 6), (6, 1)]
    assert sum(isinstance(m, nn.Dropout) for m in D.modules()) == 2
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    D.eval()  # dropout off: deterministic, per-sample logits
    x = torch.randn(4, 3, 4, 4)
    assert D.features(x).shape == (4, 6)
    assert torch.allclose(D(x)[:2], D(x[:2]), atol=1e-6)
    _, no_drop = pair((3, 4, 4), d_args={"hidden": [10], "dropout": 0})
    assert not any(isinstance(m, nn.Dropout) for m in no_drop.modules())
