"""gankit.models.resnet: SNGAN ResNet blocks, generator layout, spectrally normalised discriminator."""
import pytest
import torch
from torch import nn

from gankit.config.registry import DISCRIMINATORS, GENERATORS
from gankit.errors import GankitError
from gankit.models.resnet import DownBlock, ResNetTrunk, UpBlock


def pair(shape, ch=16):
    ctx = {"img_shape": shape}
    return (GENERATORS.build({"name": "resnet", "ch": ch}, "generator", ctx),
            DISCRIMINATORS.build({"name": "resnet", "ch": ch}, "discriminator", ctx))


def test_resnet_discriminator_is_spectrally_normalised():
    _, D = pair((3, 32, 32))
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    for _ in range(3):  # power iteration (one per training forward); a rank-1 head converges at once
        D(torch.randn(2, 3, 8, 8))
    assert torch.linalg.matrix_norm(D.head.weight, ord=2).item() == pytest.approx(1.0, rel=1e-3)


def test_spectral_norm_can_be_turned_off():
    D = DISCRIMINATORS.build({"name": "resnet", "ch": 8, "spectral_norm": False}, "discriminator",
                             {"img_shape": (3, 32, 32)})
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in D.modules())


def test_resnet_generator_layout():
    G, _ = pair((3, 32, 32))
    assert G.z_dim == 128 and len(G.blocks) == 3  # 4 → 8 → 16 → 32


@pytest.mark.parametrize("side, start, blocks", [(28, 7, 2), (64, 4, 4)])
def test_generator_serves_other_dcgan_sizes(side, start, blocks):
    G, _ = pair((1, side, side), ch=8)
    assert G.start == start and len(G.blocks) == blocks
    assert G(torch.randn(2, G.z_dim)).shape == (2, 1, side, side)


def test_up_block_doubles_the_side_and_down_block_halves_it():
    up = UpBlock(6, 4)
    assert up(torch.randn(2, 6, 5, 5)).shape == (2, 4, 10, 10)
    assert DownBlock(3, 4, down=True, first=True)(torch.randn(2, 3, 8, 8)).shape == (2, 4, 4, 4)
    assert DownBlock(4, 4, down=True)(torch.randn(2, 4, 8, 8)).shape == (2, 4, 4, 4)
    same = DownBlock(4, 4, down=False)
    assert same.sc is None  # identity shortcut
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(same(x), x + same.c2(torch.relu(same.c1(torch.relu(x)))), atol=1e-6)


def test_trunk_pools_globally_so_any_side_from_8_works():
    trunk = ResNetTrunk(3, 8)
    assert trunk.out_features == 8
    for side in (8, 20, 28):
        h = trunk(torch.randn(2, 3, side, side))
        assert h.shape == (2, 8) and (h >= 0).all()  # ReLU then sum pool


@pytest.mark.parametrize("role", ["generator", "discriminator"])
def test_unsupported_size_names_the_role(role):
    side = 20 if role == "generator" else 4  # the ResNet D pools globally: only tiny images are refused
    reg = GENERATORS if role == "generator" else DISCRIMINATORS
    with pytest.raises(GankitError, match=rf"^{role}: .*resnet.*data.image_size"):
        reg.build({"name": "resnet"}, role, {"img_shape": (3, side, side)})
