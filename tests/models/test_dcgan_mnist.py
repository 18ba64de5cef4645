import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.config.registry import DISCRIMINATORS, GENERATORS


def test_reference_generator_architecture_and_shapes():
    G = GENERATORS.build({"name": "dcgan_mnist"}, "generator", {"img_shape": (1, 28, 28)})
    out = G(torch.randn(5, 96))
    assert G.z_dim == 96 and out.shape == (5, 1, 28, 28)
    assert out.min() >= -1 and out.max() <= 1
    kinds = [type(m).__name__ for m in G.modules() if not isinstance(m, nn.Sequential) and m is not G]
    assert kinds == ["Linear", "ReLU", "BatchNorm1d", "Linear", "ReLU", "BatchNorm1d",
                     "ConvTranspose2d", "ReLU", "BatchNorm2d", "ConvTranspose2d", "Tanh"]
    linears = [m for m in G.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(96, 1024), (1024, 7 * 7 * 128)]
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.out_channels, m.kernel_size, m.stride) for m in convs] == [(64, (4, 4), (2, 2)), (1, (4, 4), (2, 2))]


def test_reference_discriminator_architecture_and_logits():
    D = DISCRIMINATORS.build({"name": "dcgan_mnist"}, "discriminator", {"img_shape": (1, 28, 28)})
    out = D(torch.randn(6, 1, 28, 28))
    assert out.shape == (6,)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size) for m in convs] == [(32, (5, 5)), (64, (5, 5))]
    assert all(m.negative_slope == 0.01 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert sum(isinstance(m, nn.MaxPool2d) for m in D.modules()) == 2
    lin = [m for m in D.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in lin] == [(1024, 1024), (1024, 1)]
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())  # logits out


def test_parameter_counts_match_the_reference():
    G = GENERATORS.build({"name": "dcgan_mnist"}, "generator", {"img_shape": (1, 28, 28)})
    D = DISCRIMINATORS.build({"name": "dcgan_mnist"}, "discriminator", {"img_shape": (1, 28, 28)})
    g = (96 * 1024 + 1024) + 2 * 1024 + (1024 * 6272 + 6272) + 2 * 6272 + (128 * 64 * 16 + 64) + 2 * 64 + (64 * 16 + 1)
    d = (25 * 32 + 32) + (32 * 64 * 25 + 64) + (1024 * 1024 + 1024) + (1024 + 1)
    assert sum(p.numel() for p in G.parameters()) == g  # 6.68 M
    assert sum(p.numel() for p in D.parameters()) == d  # 1.10 M


def test_wrong_image_size_is_a_clear_error():
    with pytest.raises(GankitError, match="28×28"):
        GENERATORS.build({"name": "dcgan_mnist"}, "generator", {"img_shape": (3, 32, 32)})
