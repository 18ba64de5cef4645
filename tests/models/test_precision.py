"""Per-layer precision (``num_fp16_res``, ``conv_clamp``) of StyleGAN2 and R3GAN against their fp32 selves."""
import pytest
import torch

from gankit.errors import GankitError
from gankit.models.precision import fp16_sides
from gankit.models.r3gan import R3GANDiscriminator, R3GANGenerator
from gankit.models.stylegan2 import StyleGAN2Generator
from gankit.models.stylegan2_discriminator import StyleGAN2Discriminator
from gankit.models.stylegan2_layers import Conv2dLayer, SynthesisLayer

SG_G = dict(img_shape=(3, 32, 32), z_dim=16, w_dim=16, mapping_layers=2, channel_base=256, channel_max=16,
            style_mixing=0.0)
SG_D = dict(img_shape=(3, 32, 32), channel_base=256, channel_max=16, mapping_layers=2)
R3 = dict(img_shape=(3, 32, 32), widths=16, cardinality=4)
# measured on this CPU: StyleGAN2 G 6.4e-4, D 7.0e-4; R3GAN G 1.2e-3, D 6.9e-3 (max |Δ| / max |fp32|)
RTOL = 2e-2


def _pair(cls, kwargs, **fp16):
    torch.manual_seed(0)
    ref = cls(**kwargs)
    with torch.no_grad():  # R3GAN's residual branches start at zero: give them something to compute
        for name, p in ref.named_parameters():
            if name.endswith("project.weight"):
                p.normal_(0.0, 0.1)
    net = cls(**kwargs, **fp16)
    net.load_state_dict(ref.state_dict())  # the same parameters, under the same names
    return ref.eval(), net.eval()


def _dtypes(net, kinds) -> list:
    seen = []
    for m in net.modules():
        if isinstance(m, kinds):
            m.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    return seen


def _err(got, want) -> float:
    return ((got - want).abs().max() / want.abs().max()).item()


@pytest.mark.parametrize("cls, kwargs, sides", [
    (StyleGAN2Generator, SG_G, [torch.float32, torch.float32, torch.float16, torch.float16]),  # 4, 8 | 16, 32
    (StyleGAN2Discriminator, SG_D, [torch.float16, torch.float16, torch.float32]),  # 32, 16 | 8 (+ epilogue)
])
def test_stylegan2_runs_its_top_resolutions_in_fp16_and_matches_fp32(cls, kwargs, sides):
    ref, net = _pair(cls, kwargs, num_fp16_res=2, conv_clamp=256)
    blocks = net.synthesis.blocks if cls is StyleGAN2Generator else net.blocks
    assert [b.dtype for b in blocks] == sides
    seen = _dtypes(blocks[-1] if cls is StyleGAN2Generator else blocks[0], (SynthesisLayer, Conv2dLayer))
    x = torch.randn(4, 16) if cls is StyleGAN2Generator else torch.randn(4, 3, 32, 32)
    want, got = ref(x), net(x)
    assert set(seen) == {torch.float16} and got.dtype == torch.float32
    assert {p.dtype for p in net.parameters()} == {torch.float32}
    assert 0 < _err(got, want) < RTOL
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the trainer's autocast does not reach inside
        assert torch.equal(net(x), got)


@pytest.mark.parametrize("cls, order", [
    (R3GANGenerator, [torch.float32, torch.float16, torch.float16, torch.float16]),  # 4 | 8, 16, 32
    (R3GANDiscriminator, [torch.float16, torch.float16, torch.float16, torch.float32]),  # 32, 16, 8 | 4
])
def test_r3gan_runs_its_top_stages_in_fp16_and_matches_fp32(cls, order):
    ref, net = _pair(cls, R3 | (dict(z_dim=16) if cls is R3GANGenerator else {}), num_fp16_res=3)
    stages = net.stages if cls is R3GANGenerator else net.trunk.stages
    seen = [_dtypes(s, torch.nn.Conv2d) for s in stages]
    x = torch.randn(4, 16) if cls is R3GANGenerator else torch.randn(4, 3, 32, 32)
    want, got = ref(x), net(x)
    assert [set(s) for s in seen] == [{d} for d in order]  # every convolution of each stage
    assert got.dtype == torch.float32 and {p.dtype for p in net.parameters()} == {torch.float32}
    assert 0 < _err(got, want) < RTOL
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(net(x), got)


def test_r3gan_runs_its_top_stages_in_bf16_as_its_code_does():
    ref, net = _pair(R3GANDiscriminator, R3, num_fp16_res=3, half="bf16")
    seen = [_dtypes(s, torch.nn.Conv2d) for s in net.trunk.stages]
    x = torch.randn(4, 3, 32, 32)
    want, got = ref(x), net(x)
    assert [set(s) for s in seen] == [{torch.bfloat16}] * 3 + [{torch.float32}]
    assert got.dtype == torch.float32 and 0 < _err(got, want) < 5e-2  # bf16: 8 bits of mantissa


def test_off_by_default_the_networks_are_todays():
    for cls, kwargs in ((StyleGAN2Generator, SG_G), (StyleGAN2Discriminator, SG_D)):
        ref, net = _pair(cls, kwargs, num_fp16_res=0)
        x = torch.randn(2, 16) if cls is StyleGAN2Generator else torch.randn(2, 3, 32, 32)
        want = ref(x)
        assert torch.equal(net(x), want)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # and trainer.precision's autocast still runs them
            assert not torch.equal(net(x).float(), want)


def test_conv_clamp_bounds_every_convolution_output():
    torch.manual_seed(0)
    D = StyleGAN2Discriminator(**SG_D, conv_clamp=0.5)
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(30)  # activations far beyond ±0.5
    outs = []
    for name, m in D.named_modules():
        if name.endswith(("conv0", "conv1", "fromrgb")):
            m.register_forward_hook(lambda m, i, o: outs.append(o.abs().max().item()))
    D(torch.randn(2, 3, 32, 32))
    assert len(outs) == 7 and max(outs) <= 0.5 + 1e-6 and max(outs) > 0.5 * 0.7  # conv1: ±0.5·√½ (its gain)


@pytest.mark.parametrize("kwargs, key", [(dict(num_fp16_res=-1), "generator.num_fp16_res"),
                                         (dict(num_fp16_res=1.5), "generator.num_fp16_res"),
                                         (dict(conv_clamp=0), "generator.conv_clamp"),
                                         (dict(half="fp8"), "generator.half")])
def test_bad_precision_arguments_are_refused_naming_the_key(kwargs, key):
    with pytest.raises(GankitError, match=key):
        if "half" in kwargs:
            R3GANGenerator(**R3, **kwargs)
        else:
            StyleGAN2Generator(**SG_G, **kwargs)


def test_fp16_sides_are_the_top_n_never_below_8x8():
    assert fp16_sides([4, 8, 16, 32], 0, "g") == frozenset()
    assert fp16_sides([4, 8, 16, 32], 2, "g") == {16, 32}
    assert fp16_sides([4, 8, 16, 32], 9, "g") == {8, 16, 32}  # as StyleGAN2-ADA: max(…, 8)
    assert fp16_sides([7, 14, 28], 3, "g") == {14, 28}
