"""The recipe's method as phases: which terms, views and rounds each phase gets."""
import math

import pytest
import torch

from gankit.config import recipe
from gankit.training.trainer import Trainer


def _phases(tiny_recipe, tmp_path, *overrides):
    return Trainer(recipe.load(tiny_recipe, list(overrides)), tmp_path / "run").phases


def test_reference_method_is_a_d_phase_then_a_g_phase(tiny_recipe, tmp_path):
    D, G = _phases(tiny_recipe, tmp_path, "trainer.d_steps=3", "trainer.g_steps=2")
    assert (D.name, D.rounds, [t.name for t in D.terms], D.watch) == ("D", 3, ["adversarial"], ("real", "fake"))
    assert (G.name, G.rounds, [t.name for t in G.terms]) == ("G", 2, ["adversarial"])
    assert G.frozen is D.net and D.frozen is None
    # D round r reads batch b0 + r; every G round reads the last D batch, the first with that batch's noise
    assert [D.source(10, r) for r in range(3)] == [(10, (10,)), (11, (11,)), (12, (12,))]
    assert [G.source(10, k) for k in range(2)] == [(12, (12,)), (12, (12, "g", 1))]


def test_penalties_and_class_heads_are_terms(tiny_recipe, tmp_path):
    D, G = _phases(tiny_recipe, tmp_path, "generator.name=conditional", "discriminator.name=acgan",
                   "discriminator.body=dcgan_mnist",
                   "penalties=[{name: r1, gamma: 1.0, interval: 4}, {name: weight_clip, clip: 0.5}]")
    assert [t.name for t in D.terms] == ["adversarial", "class", "penalty0:r1", "penalty1:weight_clip"]
    assert [t.interval for t in D.terms] == [1, 1, 4, 1]
    assert [t.name for t in G.terms] == ["adversarial", "class"]
    assert [D.due(s) for s in range(3)] == [True] * 3  # the adversarial term is due every step


@pytest.mark.parametrize("override, judged", [("loss.name=non_saturating", ["fake"]),
                                              ("loss.name=relativistic_average", ["real", "fake"])])
def test_g_phase_judges_real_data_only_when_needed(tiny_recipe, tmp_path, override, judged):
    tr = Trainer(recipe.load(tiny_recipe, [override]), tmp_path / "run")
    draws = []
    tr.step()  # make sure the phases run; then inspect the views of one draw
    from gankit.training.phases import Draws

    d = Draws(tr.phases, tr.G, tr.stream, tr.noise, 0, 0, labels=False)(tr.phases[1], 0, 0)
    draws.append(d)
    assert [v.name for v in tr.phases[1].views(d)] == judged


def test_r2_judges_the_fakes_with_their_labels(tiny_recipe, tmp_path):
    tr = Trainer(recipe.load(tiny_recipe, ["generator.name=conditional", "discriminator.name=projection",
                                           "discriminator.body=dcgan_mnist", "loss.name=relativistic_pair",
                                           "penalties=[{name: r1, gamma: 1.0}, {name: r2, gamma: 1.0}]"]),
                 tmp_path / "run")
    from gankit.training.phases import Draws

    D = tr.phases[0]
    d = Draws(tr.phases, tr.G, tr.stream, tr.noise, 0, 0, labels=True)(D, 0, 0)
    r1, r2 = (t.inputs(d) for t in D.terms[1:])
    assert torch.equal(r1.y, d.y_real) and torch.equal(r2.y, d.y_fake)
    assert torch.equal(r2.x, d.fake(grad=False))
    stats = tr.step()
    assert all(torch.isfinite(v) for v in stats.values())


def test_a_generator_regulariser_is_a_term_of_the_g_phase(tiny_recipe, tmp_path):
    """path_length (``network = "G"``) joins G's phase with its interval; its target is saved state."""
    tr = Trainer(recipe.load(tiny_recipe, [
        "generator={name: stylegan2, z_dim: 16, w_dim: 16, mapping_layers: 1, channel_base: 64, channel_max: 8}",
        "discriminator={name: stylegan2, channel_base: 64, channel_max: 8, mapping_layers: 1}",
        "penalties=[{name: r1, gamma: 0.01, interval: 16}, {name: path_length, interval: 4}]"]), tmp_path / "run")
    D, G = tr.phases
    assert [(t.name, t.interval) for t in D.terms] == [("adversarial", 1), ("penalty0:r1", 16)]
    assert [(t.name, t.interval) for t in G.terms] == [("adversarial", 1), ("penalty1:path_length", 4)]
    assert "penalties[1]" in tr.stateful
    stats = tr.step()  # step 0: both regularisers are due
    assert all(torch.isfinite(v) for v in stats.values())
    assert tr.parts.penalties[1].module.pl_mean > 0 and "penalties[1].pl_mean" in tr.levels()


def test_the_augment_watches_d_through_its_contract_as_a_term_that_adds_nothing(tiny_recipe, tmp_path):
    """Any augment is shown D's real logits (``observe``) and told of D's updates (``after_step``): ADA
    counts them and adapts; DiffAugment keeps the contract's defaults, which do nothing."""
    augments = {}
    for name, node in (("ada", "{name: ada, interval: 2}"), ("diffaugment", "{name: diffaugment}")):
        tr = Trainer(recipe.load(tiny_recipe, [f"augment={node}", "trainer.d_steps=2"]), tmp_path / name)
        assert [t.name for t in tr.phases[0].terms] == ["adversarial", "augment"]
        assert all(torch.isfinite(v) for v in tr.step().values())
        augments[name] = tr.parts.augment
    assert augments["ada"].updates == 2 and not math.isnan(augments["ada"].rt)  # r_t measured after 2 updates
