"""gankit.models.base: the Verdict type, the conditional flag, and trunk + head discriminators."""
import torch
from torch import nn

from gankit.models.base import FeatureDiscriminator, Verdict, as_verdict, is_conditional


def test_as_verdict_wraps_a_tensor_and_passes_a_verdict_through():
    logits = torch.randn(4)
    v = as_verdict(logits)
    assert isinstance(v, Verdict) and v.logits is logits and v.classes is None
    full = Verdict(logits, torch.randn(4, 3))
    assert as_verdict(full) is full
    real, cls = full  # a Verdict unpacks like a pair
    assert real is logits and cls.shape == (4, 3)


def test_is_conditional_reads_the_flag():
    class Cond(nn.Module):
        conditional = True

    flagged_off = nn.Linear(2, 2)
    flagged_off.conditional = False
    assert is_conditional(Cond()) and not is_conditional(nn.Linear(2, 2)) and not is_conditional(flagged_off)


class Tiny(FeatureDiscriminator):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.LeakyReLU(0.2))
        self.head = nn.Linear(5, 1)


def test_feature_discriminator_is_head_of_trunk_and_ignores_labels():
    torch.manual_seed(0)
    D = Tiny()
    x = torch.randn(6, 3, 2, 2)
    out = D(x)
    assert out.shape == (6,)
    assert torch.equal(D.features(x), D.trunk(x))
    assert torch.allclose(out, D.head(D.trunk(x)).squeeze(1))
    assert torch.equal(D(x, torch.arange(6)), out) and torch.equal(D(x, y=None), out)
    assert not is_conditional(D)
