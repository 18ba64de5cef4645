"""The penalties under fp16 (PyTorch's AMP recipe for gradient penalties) against fp32 references.

D is a tiny MLP whose backward passes through a very small number (its hidden activations are
multiplied by ``c`` before the last layer): in fp16 the gradient reaching the hidden layer, ``c``
times D's last weights, underflows (c = 2⁻²⁴: to exactly 0; c = 2⁻²⁰: to a few subnormal steps).
Taken at the grad scaler's scale (``grad_scale`` = 2¹⁵, and D's loss scaled by it, as
``accelerator.backward`` does) the same backward stays in fp16's normal range.
"""
import pytest
import torch
from torch import nn

from gankit.losses.path_length import path_lengths
from gankit.losses.penalties import R1, R2, WGANGP

SCALE = torch.tensor(2.0 ** 15)
VALUE_RTOL = 1e-3  # measured: 1.9e-7 to 5.3e-5
GRAD_RTOL = 1e-2  # max |Δ| / max |∇| over each parameter; measured: 1.7e-4 to 1.1e-3


class TinyD(nn.Module):
    def __init__(self, c: float):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b, self.c = nn.Linear(48, 16), nn.Linear(16, 1), c
        with torch.no_grad():
            self.a.weight.mul_(1e4)  # with inputs of ~0.01: activations of ~10³, in fp16's range

    def forward(self, x):
        return self.b(nn.functional.leaky_relu(self.a(x.flatten(1)), 0.2) * self.c).squeeze(1)


def _penalty(pen, D, fp16: bool, scale):
    """The penalty's value and D's parameter gradients from it (unscaled), as a D step computes them."""
    D.zero_grad()
    x = (torch.randn(4, 3, 4, 4, generator=torch.Generator().manual_seed(1)) * 0.01).requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.float16, enabled=fp16):
        logits = D(x)
    pen.grad_scale = scale
    value = pen(x, logits.float(), 0)
    (value if scale is None else value * scale).backward()
    grads = [p.grad / (1 if scale is None else scale) for p in (D.a.weight, D.b.weight)]
    return value.item(), grads


def _err(got, want) -> float:
    return max(((g - w).abs().max() / w.abs().max()).item() for g, w in zip(got, want))


@pytest.mark.parametrize("make", [lambda: R1(gamma=10.0), lambda: R2(gamma=10.0), lambda: WGANGP(weight=10.0)])
def test_fp16_penalties_match_fp32_when_their_gradients_underflow_unscaled(make):
    pen = make()
    D = TinyD(2.0 ** -20)
    want, want_grads = _penalty(pen, D, False, None)
    unscaled, unscaled_grads = _penalty(pen, D, True, None)
    scaled, scaled_grads = _penalty(pen, D, True, SCALE)
    assert _err(unscaled_grads, want_grads) > 0.2  # today's unscaled path: D's gradients 25-100 % off
    assert scaled == pytest.approx(want, rel=VALUE_RTOL)
    assert _err(scaled_grads, want_grads) < GRAD_RTOL
    if isinstance(pen, R1):
        assert abs(unscaled - want) > 0.05 * want  # R1/R2 read ≈10 % too large unscaled


def test_fp16_r1_underflows_to_zero_unscaled_and_matches_fp32_scaled():
    D = TinyD(2.0 ** -24)
    want, _ = _penalty(R1(gamma=10.0), D, False, None)
    unscaled, _ = _penalty(R1(gamma=10.0), D, True, None)
    scaled, _ = _penalty(R1(gamma=10.0), D, True, SCALE)
    assert want > 0 and unscaled == 0.0
    assert scaled == pytest.approx(want, rel=VALUE_RTOL)


def test_fp16_path_lengths_match_fp32_when_the_jacobian_underflows_unscaled():
    """ℓ_n of a linear 'generator' ws → images whose backward passes through 2⁻²⁶."""
    torch.manual_seed(0)
    lin = nn.Linear(8, 3 * 4 * 4)
    with torch.no_grad():
        lin.weight.mul_(1e3)
    ws = torch.randn(2, 3, 8).requires_grad_(True)
    noise = torch.randn(2, 3, 4, 4) / 4

    def lengths(fp16: bool, scale):
        with torch.autocast("cpu", dtype=torch.float16, enabled=fp16):
            images = (lin(ws.mean(dim=1)) * 2.0 ** -26).reshape(2, 3, 4, 4)
        return path_lengths(images, ws, noise, scale)

    want = lengths(False, None)
    assert torch.equal(lengths(True, None), torch.zeros(2))  # unscaled: the Jacobian underflows to 0
    torch.testing.assert_close(lengths(True, SCALE), want, rtol=VALUE_RTOL, atol=0)
