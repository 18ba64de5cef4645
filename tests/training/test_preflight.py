"""The preflight: G(z, y) and D(x, y) once on a tiny batch; y only for conditional models."""
from types import SimpleNamespace

import pytest
from torch import nn

from gankit.errors import GankitError
from gankit.training.preflight import preflight, shape_problems


class G(nn.Module):
    z_dim = 4

    def __init__(self, conditional=False):
        super().__init__()
        self.conditional = conditional
        self.fc = nn.Linear(4, 16)
        self.seen = []

    def forward(self, z, y=None):
        self.seen.append(y)
        return self.fc(z).view(-1, 1, 4, 4)


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 1)
        self.seen = []

    def forward(self, x, y=None):
        self.seen.append(y)
        return self.fc(x.flatten(1)).squeeze(1)


class OldG(G):
    def forward(self, z):  # the contract is forward(z, y=None)
        return self.fc(z).view(-1, 1, 4, 4)


def parts(g, d=None, num_classes=3):
    return SimpleNamespace(G=g, D=d or D(), data=SimpleNamespace(img_shape=(1, 4, 4), num_classes=num_classes))


def test_unconditional_models_get_y_none_and_conditional_ones_labels():
    p = parts(G())
    assert shape_problems(p, backward=True) == []
    assert p.G.seen == [None] and p.D.seen == [None]
    p = parts(G(conditional=True))
    assert shape_problems(p, backward=False) == []
    assert p.G.seen[0].shape == (2,) and p.D.seen == [None]


def test_a_generator_without_y_is_told_the_contract():
    problems = shape_problems(parts(OldG()), backward=False)
    assert len(problems) == 1 and "TypeError" in problems[0] and "forward(z, y=None)" in problems[0]


def test_preflight_raises_on_a_shape_mismatch_and_leaves_modes_alone():
    g = G()
    g.eval()
    p = SimpleNamespace(G=g, D=D(), data=SimpleNamespace(img_shape=(3, 4, 4), num_classes=0))
    with pytest.raises(GankitError, match="makes images of shape"):
        preflight(p)
    assert not g.training
