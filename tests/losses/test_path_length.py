"""gankit.losses.path_length: the path-length term of G, its moving-average target and its state."""
import math

import pytest
import torch

from gankit.config.registry import GENERATORS, PENALTIES
from gankit.errors import GankitError
from gankit.losses.path_length import PathLength, path_length_penalty, path_lengths, path_noise

TINY_G = {"name": "stylegan2", "z_dim": 8, "w_dim": 8, "mapping_layers": 1, "channel_base": 64, "channel_max": 8}


def tiny_g(**kw):
    return GENERATORS.build({**TINY_G, **kw}, "generator", {"img_shape": (1, 16, 16)})


def test_path_lengths_follow_their_formula_on_a_linear_generator():
    """g(w)_n = Σ_l A_l w_{n,l}: ∂(g·y)/∂w_{n,l} = A_lᵀ y_n, so ℓ_n = √(mean_l ‖A_lᵀ y_n‖²)."""
    torch.manual_seed(0)
    n, L, d, pixels = 3, 4, 5, 2 * 3 * 3
    A = torch.randn(L, pixels, d, dtype=torch.float64, requires_grad=True)  # G's weights
    ws = torch.randn(n, L, d, dtype=torch.float64, requires_grad=True)
    images = torch.einsum("lpd,nld->np", A, ws).reshape(n, 2, 3, 3)
    y = torch.randn(n, 2, 3, 3, dtype=torch.float64)
    want = torch.stack([torch.stack([(A[l].t() @ y[i].flatten()).square().sum() for l in range(L)]).mean().sqrt()
                        for i in range(n)])
    got = path_lengths(images, ws, y)
    assert got.dtype == torch.float64 and torch.allclose(got, want)
    (g,) = torch.autograd.grad(got.sum(), A)  # create_graph: the term reaches G's weights
    (g_want,) = torch.autograd.grad(want.sum(), A)
    assert torch.allclose(g, g_want)


def test_path_noise_is_scaled_by_the_image_area():
    torch.manual_seed(0)
    y = path_noise(torch.empty(64, 3, 16, 16))
    assert y.shape == (64, 3, 16, 16)
    assert y.std().item() == pytest.approx(1 / 16, rel=0.02)


def test_penalty_and_moving_average_update():
    lengths = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)
    mean = torch.tensor(0.5)
    penalty, new_mean = path_length_penalty(lengths, mean, decay=0.01)
    a = 0.5 + 0.01 * (7 / 3 - 0.5)  # a' = a + β·(mean ℓ − a)
    assert new_mean.item() == pytest.approx(a) and not new_mean.requires_grad
    assert torch.allclose(penalty, (lengths.detach() - a).square())
    # the gradient flows through a' too (StyleGAN2-ADA does not detach it): 2(ℓ_i − a') − 2β/N Σ_j (ℓ_j − a')
    penalty.sum().backward()
    r = lengths.detach() - a
    assert torch.allclose(lengths.grad, 2 * r - 2 * 0.01 / 3 * r.sum())
    # another process's batches: a' uses the given mean, the gradient is still this batch's
    _, shared = path_length_penalty(lengths.detach(), mean, 0.01, batch_mean=torch.tensor(3.0))
    assert shared.item() == pytest.approx(0.5 + 0.01 * 2.5)


def test_the_term_on_a_stylegan2_generator_keeps_its_target_as_state():
    torch.manual_seed(0)
    G = tiny_g(style_mixing=0.0).train()
    pen = PENALTIES.build({"name": "path_length"}, "penalties[0]", {})
    assert (pen.weight, pen.decay, pen.batch_shrink, pen.network) == (2.0, 0.01, 2, "G")
    term = pen.generator_term(G)
    z = torch.randn(8, G.z_dim)
    a, values = 0.0, []
    for step in range(3):
        torch.manual_seed(100 + step)
        value = term(z, None, step)
        value.backward()
        # every weight reaches the image's Jacobian; the toRGB biases only shift the image
        assert all((p.grad is None) == n.endswith("torgb.bias") for n, p in G.named_parameters())
        # replay: the same noise, the first 8 // 2 latents
        torch.manual_seed(100 + step)
        images, ws = G.images_and_ws(z[:4])
        ell = path_lengths(images, ws, path_noise(images)).detach()
        a = a + 0.01 * (ell.mean().item() - a)
        assert pen.pl_mean == pytest.approx(a, rel=1e-5)
        assert value.item() == pytest.approx(2.0 * (ell - a).square().mean().item(), rel=1e-4)
        values.append(value.item())
    state = pen.state_dict()
    assert state == {"pl_mean": pen.pl_mean} and math.isfinite(state["pl_mean"])
    again = PathLength()
    again.load_state_dict(state)
    assert again.pl_mean == pen.pl_mean  # exact: fp32 → JSON float → fp32
    torch.manual_seed(7)
    v1 = pen.generator_term(G)(z, None, 3)
    torch.manual_seed(7)
    v2 = again.generator_term(G)(z, None, 3)
    assert torch.equal(v1, v2) and pen.pl_mean == again.pl_mean


def test_the_term_refuses_a_generator_without_styles_and_bad_arguments():
    G = GENERATORS.build({"name": "mlp", "hidden": [8]}, "generator", {"img_shape": (1, 8, 8)})
    with pytest.raises(GankitError, match="style-based generator"):
        PathLength().generator_term(G)
    for bad in ({"weight": -1}, {"decay": 2}, {"batch_shrink": 0}):
        with pytest.raises(GankitError, match="path_length"):
            PathLength(**bad)
    with pytest.raises(GankitError, match="pl_mean"):
        PathLength().load_state_dict({})


def test_path_length_is_a_stateful_generator_penalty_that_logs_its_mean():
    pen = PENALTIES.build({"name": "path_length"}, "penalties[0]")
    assert (pen.network, pen.stateful, pen.logged) == ("G", True, ("pl_mean",))
    pen.load_state_dict({"pl_mean": 0.5})
    assert pen.state_dict() == {"pl_mean": 0.5} and pen.pl_mean == 0.5
