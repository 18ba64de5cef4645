"""The non-finite rule: stop counts on the device and raises at sync points; skip drops updates."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.training import guard as guard_mod
from gankit.training.guard import NonFiniteGuard, nonfinite


class OneProcess:
    """The part of an Accelerator the guard uses, for a single process."""

    device, scaler = torch.device("cpu"), None

    def reduce(self, t, reduction="sum"):
        return t


def _guard(mode):
    return NonFiniteGuard(mode, OneProcess(), lambda: "checkpoints/step-0000004")


def test_stop_mode_counts_quietly_and_raises_at_the_next_check_naming_the_last_good_checkpoint():
    g, state = _guard("stop"), SimpleNamespace(step=0, skipped=0)
    assert g.counts({"d_loss": torch.tensor(1.0)}, state)
    g.verify(5)
    assert g.good_step == 5
    assert g.counts({"d_loss": torch.tensor(float("nan")), "g_loss": torch.tensor(0.0)}, state)  # still counted
    with pytest.raises(GankitError, match=r"by step 7 \(after step 5.*step-0000004"):
        g.verify(7)


def test_skip_mode_drops_nonfinite_gradients_and_gives_up_after_a_run_of_skips(monkeypatch):
    g, state = _guard("skip"), SimpleNamespace(step=3, skipped=0)
    net = nn.Linear(2, 1)
    net.weight.grad = torch.tensor([[1.0, float("inf")]])
    net.bias.grad = torch.tensor([0.5])
    g.grads(net)
    assert net.weight.grad is None and net.bias.grad is None  # the optimizer will leave the weights alone
    net.weight.grad = torch.ones(1, 2)
    g.grads(net)
    assert net.weight.grad is not None  # finite gradients are kept
    assert not g.counts({"d_loss": torch.tensor(float("inf"))}, state) and state.skipped == 1
    assert g.counts({"d_loss": torch.tensor(0.0)}, state) and g.skips_in_row == 0
    monkeypatch.setattr(guard_mod, "MAX_SKIPS_IN_ROW", 2)
    g.counts({"d_loss": torch.tensor(float("nan"))}, state)
    with pytest.raises(GankitError, match="2 iterations in a row"):
        g.counts({"d_loss": torch.tensor(float("nan"))}, state)


def test_weights_check_names_the_network_and_tensor():
    net = nn.Linear(2, 1)
    assert nonfinite(net.state_dict().items()) == []
    with torch.no_grad():
        net.bias.fill_(float("nan"))
    assert nonfinite(net.state_dict().items()) == ["bias"]
    with pytest.raises(GankitError, match=r"the discriminator has non-finite weights at step 9 \(bias\)"):
        _guard("stop").weights({"discriminator": net}, 9)


def test_fp16_an_update_the_scaler_skips_is_a_skipped_step_in_either_mode(monkeypatch):
    """The scaler lowers its scale only when it skips an update: the guard counts that step as skipped
    (stop mode too: an overflow is how the scaler finds its scale), and a run of them stops the run."""
    acc = OneProcess()
    acc.scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    acc.scaler.scale(torch.ones(()))  # the scaler makes its scale lazily
    g, state = NonFiniteGuard("stop", acc, lambda: None), SimpleNamespace(step=3, skipped=0)

    class Opt:  # what accelerate's optimizer does to the scale after an update (skipped: × backoff 0.5)
        def __init__(self, overflow):
            self.overflow = overflow

        def step(self):
            acc.scaler.update(acc.scaler.get_scale() * (0.5 if self.overflow else 1.0))

    finite = {"d_loss": torch.tensor(0.5)}
    g.step(Opt(False))
    assert g.counts(finite, state) and state.skipped == 0
    g.step(Opt(True))
    g.step(Opt(False))  # G's update after D's skipped one: the step still does not count
    assert not g.counts(finite, state) and state.skipped == 1 and g.skips_in_row == 1
    g.step(Opt(False))
    assert g.counts(finite, state) and g.skips_in_row == 0  # reset by a counted step
    monkeypatch.setattr(guard_mod, "MAX_SKIPS_IN_ROW", 2)
    g.step(Opt(True))
    g.counts(finite, state)
    g.step(Opt(True))
    with pytest.raises(GankitError, match="overflowed at every scale"):
        g.counts(finite, state)
