"""The step as a list of phases: accumulation for any step ratio, lazy terms from a plugin, named phases."""
import sys
from pathlib import Path

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from gankit.config import recipe
from gankit.training.trainer import Trainer

PLUGIN = Path(__file__).parent / "plugins" / "lazy_penalty.py"
# BatchNorm- and dropout-free models: a micro-batch's gradient does not depend on the others in its batch.
NO_BN = ["generator.name=mlp", "generator.batch_norm=false", "generator.hidden=[64]", "discriminator.name=mlp",
         "discriminator.dropout=0.0", "discriminator.hidden=[64]", "trainer.batch_size=32", "data.size=256"]


def _trainer(tiny_recipe, tmp_path, *overrides, name="run"):
    return Trainer(recipe.load(tiny_recipe, [*NO_BN, *overrides]), tmp_path / name)


def _params(tr):
    return [p.detach().clone() for m in (tr.G, tr.D) for p in tr.acc.unwrap_model(m).parameters()]


@pytest.mark.parametrize("d_steps, g_steps", [(1, 1), (2, 1), (2, 3)])
def test_accumulation_equals_the_big_batch_for_any_step_ratio(tiny_recipe, tmp_path, d_steps, g_steps):
    ratio = [f"trainer.d_steps={d_steps}", f"trainer.g_steps={g_steps}"]
    runs = {}
    for accum in (1, 2, 4):
        tr = _trainer(tiny_recipe, tmp_path, *ratio, f"trainer.grad_accum={accum}", name=f"a{accum}")
        stats = [tr.step() for _ in range(2)]
        assert tr.state.batch == 2 * d_steps  # accumulation splits a batch, it does not take more
        assert tr.stream.local == 32 // accum
        runs[accum] = (_params(tr), stats)
    big, big_stats = runs[1]
    for accum in (2, 4):
        params, stats = runs[accum]
        assert max((a - b).abs().max().item() for a, b in zip(params, big)) < 1e-5
        for s, b in zip(stats, big_stats):
            for k in ("d_loss", "g_loss", "d_real", "d_fake"):
                assert s[k].item() == pytest.approx(b[k].item(), rel=1e-4, abs=1e-6)


def test_one_generator_forward_serves_both_phases_unless_accumulating(tiny_recipe, tmp_path):
    for accum, expected in ((1, 1), (2, 4)):  # accumulating: G runs again in its phase, per micro-batch
        tr = _trainer(tiny_recipe, tmp_path, f"trainer.grad_accum={accum}", name=f"a{accum}")
        calls = []
        tr.acc.unwrap_model(tr.G).register_forward_hook(lambda *a: calls.append(1))
        tr.step()
        assert len(calls) == expected


def test_a_plugin_penalty_with_an_interval_runs_on_its_steps_scaled_by_it(tiny_recipe, tmp_path):
    """`interval: 4` is the phase's business: the term runs on steps 0, 4, 8 and counts 4×; the loop is untouched."""
    lazy = _trainer(tiny_recipe, tmp_path, f"plugins=[{PLUGIN}]",
                    "penalties=[{name: constant_probe, value: 0.25, interval: 4}]", name="lazy")
    plain = _trainer(tiny_recipe, tmp_path, name="plain")
    plugin = next(m for n, m in sys.modules.items() if n.startswith("gankit_plugin_lazy_penalty"))
    calls = plugin.CALLS
    del calls[:]
    diffs = []
    for step in range(9):
        a, b = lazy.step(), plain.step()
        lazy.state.step = plain.state.step = step + 1
        diffs.append(a["d_loss"].item() - b["d_loss"].item())
    assert calls == [0, 4, 8]
    assert diffs == pytest.approx([1.0 if s % 4 == 0 else 0.0 for s in range(9)], abs=1e-5)
    # a constant term has no gradient: both runs made exactly the same updates
    assert all(torch.equal(p, q) for p, q in zip(_params(lazy), _params(plain)))


def test_phases_are_named_for_the_profiler(tiny_recipe, tmp_path):
    tr = _trainer(tiny_recipe, tmp_path)
    assert [p.name for p in tr.phases] == ["D", "G"]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        tr.step()
    names = {e.name for e in prof.events()}
    assert {"phase:D", "phase:G", "data"} <= names
