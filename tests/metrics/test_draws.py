"""The seeded draw of generated samples: latent rows, labels by index, who is class-conditional."""
import torch

from gankit.metrics.draws import class_count, draw_labels, is_conditional, latents, spread_labels


class _G(torch.nn.Module):
    def __init__(self, conditional=False, num_classes=0):
        super().__init__()
        if conditional:
            self.conditional = True
        self.num_classes = num_classes


def test_latent_row_i_does_not_depend_on_how_many_are_drawn():
    assert torch.equal(latents(10, 4, seed=3)[:4], latents(4, 4, seed=3))
    assert not torch.equal(latents(4, 4, seed=3), latents(4, 4, seed=4))


def test_labels_spread_by_index_only_for_conditional_generators():
    assert spread_labels(torch.arange(7), 3).tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert spread_labels(torch.arange(3), 0).tolist() == [0, 0, 0]  # no classes: one class
    assert draw_labels(_G(), 5) is None and not is_conditional(_G(num_classes=10))
    cond = _G(conditional=True, num_classes=4)
    assert is_conditional(cond) and class_count(cond) == 4
    assert draw_labels(cond, 6).tolist() == [0, 1, 2, 3, 0, 1]
    no_count = _G(conditional=True)
    assert class_count(no_count) == 0 and class_count(no_count, fallback=3) == 3  # e.g. the data's classes
    assert draw_labels(no_count, 4, fallback_classes=3).tolist() == [0, 1, 2, 0]
