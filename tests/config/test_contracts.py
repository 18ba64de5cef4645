"""Contracts: what each kind declares, components written without the base class, and missing members."""
import re

import pytest
import torch

from gankit.config import registry
from gankit.config.contracts import Contract, Part, lacks, members
from gankit.config.registry import AUGMENTS, FEATURES, METRICS, PENALTIES, SIDE_JOBS, Registry
from gankit.errors import GankitError
from gankit.losses.base import Penalty
from gankit.losses.penalties import R1
from gankit.metrics.base import FeatureExtractor, Metric
from gankit.training.augment_base import Augment
from gankit.training.side_jobs import SideJob, Tick


@pytest.fixture
def scratch():
    """Registers components for one test and removes them afterwards."""
    registry.populate()
    added = []

    def add(reg, name, obj):
        reg.register(name)(obj)
        added.append((reg, name))
        return obj

    yield add
    for reg, name in added:
        reg._entries.pop(name)


def test_each_kind_declares_what_the_loop_may_ask_of_it():
    part = {"logged", "adapted", "stateful", "state_dict", "load_state_dict"}
    assert set(members(Penalty)) == part | {"network", "labels", "grad_scale", "inputs", "__call__", "after_step",
                                            "generator_term"}
    assert set(members(Augment)) == part | {"__call__", "observe", "after_step"}
    assert set(members(SideJob)) == part | {"every", "due", "run"}
    assert set(members(Metric)) == {"input", "features", "labels", "heldout", "source", "num_samples",
                                     "full_reference", "on_device", "__call__"}
    assert set(members(FeatureExtractor)) == {"outputs", "weights_sha256", "fast", "extract"}


def test_a_subclass_gets_the_defaults_and_is_stateful_when_it_defines_state_dict():
    r1 = PENALTIES.build({"name": "r1"}, "penalties[0]")
    assert type(r1) is R1  # a subclass is used as it is
    assert (r1.network, r1.labels, r1.logged, r1.adapted, r1.stateful, r1.state_dict()) == ("D", "real", (), {}, False, {})
    pl = PENALTIES.build({"name": "path_length"}, "penalties[1]")
    assert pl.network == "G" and pl.stateful and pl.state_dict() == {"pl_mean": 0.0}
    ada = AUGMENTS.build({"name": "ada"}, "augment")
    assert ada.stateful and ada.logged == ("p", "rt") and ada.adapted == {"p": "set augment.target=null"}


class DuckPenalty:
    """A penalty written against the members by name: no base class."""

    labels = "fake"

    def __init__(self, gamma: float = 1.0):
        self.gamma, self.seen = gamma, []

    def inputs(self, real, fake, step):
        return fake.detach().requires_grad_(True)

    def __call__(self, x, logits, step):
        self.seen.append(step)
        return self.gamma * logits.pow(2).mean()


def test_a_duck_typed_penalty_is_seen_through_the_contract(scratch):
    scratch(PENALTIES, "gk_duck", DuckPenalty)
    pen = PENALTIES.build({"name": "gk_duck", "gamma": 2.0}, "penalties[0]")
    assert Penalty in type(pen).__mro__ and type(pen).__name__ == "DuckPenalty"
    # its own members where it has them, the contract's defaults elsewhere
    assert (pen.labels, pen.network, pen.logged, pen.adapted, pen.stateful) == ("fake", "D", (), {}, False)
    assert pen.after_step(torch.nn.Linear(1, 1)) is None and pen.state_dict() == {}
    x = torch.ones(2, 1, requires_grad=True)
    assert pen(x, x * 3, 7).item() == pytest.approx(18.0) and pen.seen == [7]
    pen.gamma = 0.5  # what a schedule does: the component itself changes
    assert pen._inner.gamma == 0.5 and pen.gamma == 0.5
    assert PENALTIES.contract.conform(pen, "penalties[0]", "penalty", "gk_duck") is pen  # once is enough


def test_a_duck_typed_part_with_state_is_stateful(scratch):
    class Counting(DuckPenalty):
        logged = ("calls",)

        def state_dict(self):
            return {"calls": len(self.seen)}

        def load_state_dict(self, state):
            self.seen = [None] * state["calls"]

    scratch(PENALTIES, "gk_duck_state", Counting)
    pen = PENALTIES.build({"name": "gk_duck_state"}, "penalties[0]")
    pen.load_state_dict({"calls": 3})
    assert pen.stateful and pen.logged == ("calls",) and pen.state_dict() == {"calls": 3}


@pytest.mark.parametrize("reg, key, obj, says", [
    (PENALTIES, "penalties[2]", type("NoCall", (), {"inputs": lambda s, r, f, k: r}), "__call__(x, logits, step)"),
    (PENALTIES, "penalties[0]", type("NoTerm", (), {"network": "G", "__call__": lambda s, *a: 0}), "generator_term(G)"),
    (PENALTIES, "penalties[0]", type("Nothing", (), {}), "inputs(real, fake, step)"),
    (AUGMENTS, "augment", type("NotCallable", (), {"observe": lambda s, lg: None}), "__call__(x)"),
    (METRICS, "metrics[1]", type("NoScore", (), {"input": "probs"}), "__call__(real, fake)"),
    (FEATURES, "metrics.features", type("NoHash", (), {"outputs": ("features",), "extract": lambda s, x: {}}),
     "weights_sha256"),
    (SIDE_JOBS, "side_jobs[0]", type("Idle", (), {"every": 5}), "run(trainer, tick)"),
])
def test_a_component_missing_a_required_member_is_refused_when_built(scratch, reg, key, obj, says):
    scratch(reg, "gk_incomplete", obj)
    with pytest.raises(GankitError) as e:
        reg.build({"name": "gk_incomplete"}, key)
    text = str(e.value)
    assert text.startswith(f"{key}.name: {reg.kind} 'gk_incomplete' ({obj.__name__}) has no {says}")
    assert "subclass gankit." in text


def test_a_penalty_that_only_acts_after_the_step_needs_no_inputs(scratch):
    clipped = []
    scratch(PENALTIES, "gk_after_only", type("AfterOnly", (), {"after_step": lambda s, D: clipped.append(D)}))
    pen = PENALTIES.build({"name": "gk_after_only"}, "penalties[0]")
    assert pen.inputs(None, None, 0) is None  # the default: no term
    pen.after_step("D")
    assert clipped == ["D"]


def test_duck_typed_augment_metric_extractor_and_side_job_get_their_defaults(scratch):
    scratch(AUGMENTS, "gk_flip", type("Flip", (), {"__call__": lambda s, x: x.flip(3)}))
    aug = AUGMENTS.build({"name": "gk_flip"}, "augment")
    x = torch.arange(4.0).view(1, 1, 1, 4)
    assert aug(x).flatten().tolist() == [3.0, 2.0, 1.0, 0.0] and aug.observe(x) is None and not aug.stateful
    scratch(METRICS, "gk_mean", type("Mean", (), {"__call__": lambda s, r, f: {"gap": float((r - f).mean())}}))
    m = METRICS.build({"name": "gk_mean"}, "metrics[0]")
    assert (m.input, m.features, m.labels, m.heldout, m.source) == ("features", None, False, False, "auto")
    assert m(torch.ones(2), torch.zeros(2)) == {"gap": 1.0}
    scratch(FEATURES, "gk_ident", type("Ident", (), {"outputs": ("features",), "weights_sha256": "0",
                                                     "extract": lambda s, x: {"features": x}}))
    assert FEATURES.build({"name": "gk_ident"}, "metrics.features").fast is False
    assert FEATURES.entry("gk_ident").obj.trained_on == ()  # filled in when registered
    runs = []
    scratch(SIDE_JOBS, "gk_note", type("Note", (), {"run": lambda s, tr, tick: runs.append(tick.step)}))
    job = SIDE_JOBS.build({"name": "gk_note"}, "side_jobs[0]")
    due = [k for k in range(1, 6) if job.due(Tick().at(k, last=k == 5))]
    assert job.every == 1 and due == [1, 2, 3, 4, 5] and not job.stateful


def test_a_registry_follows_its_contract_for_entries_registered_before_and_after():
    seen = []
    reg = Registry("widget")
    reg.register("early")(type("Early", (), {}))

    class Widget(Part):
        pass

    reg.follow(Contract(Widget, lambda obj: lacks(obj, "spin()"), registered=lambda obj: seen.append(obj.__name__)))
    reg.register("late")(type("Late", (), {"spin": lambda s: 1}))
    assert seen == ["Early", "Late"]
    assert reg.build({"name": "late"}, "widget").spin() == 1
    with pytest.raises(GankitError, match=r"widget.name: widget 'early' \(Early\) has no spin\(\)"):
        reg.build({"name": "early"}, "widget")


def test_lacks_names_absent_and_uncallable_members():
    obj = type("Obj", (), {"outputs": ("a",), "extract": 3})()
    assert lacks(obj, "outputs", "extract(images)", "weights_sha256", "__call__(x)") == [
        "extract(images)", "weights_sha256", "__call__(x)"]


class HalfPenalty(Penalty):
    def inputs(self, real, fake, step):
        return real


@pytest.mark.parametrize("reg, key, obj, says", [
    (PENALTIES, "penalties[0]", HalfPenalty, "__call__(x, logits, step)"),
    (PENALTIES, "penalties[0]", type("GHalf", (Penalty,), {"network": "G"}), "generator_term(G)"),
    (AUGMENTS, "augment", type("Watching", (Augment,), {"observe": lambda s, lg: None}), "__call__(x)"),
    (SIDE_JOBS, "side_jobs[0]", type("Lazy", (SideJob,), {}), "run(trainer, tick)"),
])
def test_a_subclass_that_keeps_a_stand_in_for_a_required_member_is_refused_too(scratch, reg, key, obj, says):
    scratch(reg, "gk_half", obj)
    with pytest.raises(GankitError, match=rf"has no {re.escape(says)}, which the run calls"):
        reg.build({"name": "gk_half"}, key)


def test_a_subclass_that_only_acts_after_the_step_keeps_the_no_input_default(scratch):
    scratch(PENALTIES, "gk_clip_like", type("ClipLike", (Penalty,), {"after_step": lambda s, D: None}))
    assert PENALTIES.build({"name": "gk_clip_like"}, "penalties[0]").inputs(None, None, 0) is None
