"""Label metrics of class-conditional generators: label_agreement and intra_fd, and how the evaluator feeds them."""
import pytest
import torch
from accelerate import Accelerator

from gankit.data.base import ImageData
from gankit.data.synthetic import synthetic
from gankit.errors import GankitError
from gankit.metrics.conditional import IntraFD, LabelAgreement
from gankit.metrics.evaluation import Evaluator
from gankit.metrics.frechet import frechet_distance, gaussian_fit
from gankit.config.recipe import from_container

from .test_evaluation import TinyG


def test_label_agreement_is_the_share_of_argmax_hits():
    probs = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4], [0.0, 0.3, 0.7]])
    asked = torch.tensor([0, 1, 2, 2])
    assert LabelAgreement()(None, probs, fake_labels=asked) == {"label_agreement": 0.75}


def test_intra_fd_is_the_mean_per_class_fd_and_catches_swapped_classes():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    y_real, y_fake = torch.arange(600) % 3, torch.arange(300) % 3
    real = centres[y_real] + torch.randn(600, 3, generator=g)
    fake = centres[y_fake] + 1.5 * torch.randn(300, 3, generator=g)
    expected = sum(frechet_distance(*gaussian_fit(real[y_real == k]), *gaussian_fit(fake[y_fake == k]))
                   for k in range(3)) / 3
    got = IntraFD()(real, fake, real_labels=y_real, fake_labels=y_fake)["intra_fd"]
    assert got == pytest.approx(expected, rel=1e-12) and 0.3 < got < 3  # wider classes, same centres
    # the same images with every label off by one: the overall FD cannot tell, intra-FD can (≈ 5² per class)
    swapped = IntraFD()(real, fake, real_labels=y_real, fake_labels=(y_fake + 1) % 3)["intra_fd"]
    assert swapped > 20 * got
    with pytest.raises(ValueError, match="class 2 has 0 real"):
        IntraFD()(real[y_real < 2], fake, real_labels=y_real[y_real < 2], fake_labels=y_fake)


def _cfg(metrics=None, **data):
    return from_container({"data": {"name": "synthetic", "size": 400, **data}, "eval": {"num_samples": 300},
                           "metrics": metrics or []})


@pytest.fixture
def acc(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "stats"))
    return Accelerator(cpu=True)


def test_evaluator_feeds_labels_and_adds_label_metrics_for_conditional_generators(acc):
    data = synthetic(size=400)
    ev = Evaluator(_cfg(), data, "cpu", conditional=True)
    assert [p.name for p in ev.plan] == ["fd", "classifier_score", "mode_coverage", "label_agreement", "intra_fd"]
    assert [p.name for p in Evaluator(_cfg(), data, "cpu", conditional=False).plan][-1] == "mode_coverage"
    G = TinyG(conditional=True)
    out = ev(G, acc)
    probs = ev.generated(G, acc)["lenet_mnist"]["probs"]
    assert out["label_agreement"] == pytest.approx(float((probs.argmax(1) == torch.arange(300) % 10).double().mean()))
    assert out["intra_fd"] > 0
    # the floor: real vs real with their own labels; agreement there is the classifier's accuracy on real data
    floor = ev.floor(150)
    real_probs = ev.reference("lenet_mnist")["probs"]
    agreement = []  # the mean over the floor's splits, each with its own seed
    for s in range(floor["floor_splits"]):
        perm = torch.randperm(400, generator=torch.Generator().manual_seed(ev.ecfg.seed + 1 + s))[150:300]
        agreement.append(float((real_probs[perm].argmax(1) == data.labels[perm]).double().mean()))
    assert floor["floor_splits"] == 5 and floor["label_agreement"] == pytest.approx(sum(agreement) / 5)


def test_label_metrics_refused_without_labels_or_a_conditional_generator(acc):
    data = synthetic(size=400)
    with pytest.raises(GankitError, match=r"^metrics\[1\]: metric 'label_agreement' .* not class-conditional"):
        Evaluator(_cfg([{"name": "fd"}, {"name": "label_agreement"}]), data, "cpu", conditional=False)
    ev = Evaluator(_cfg([{"name": "intra_fd"}]), data, "cpu")  # not known up front: checked on the generator
    with pytest.raises(GankitError, match=r"^metrics\[0\]: metric 'intra_fd' .* not class-conditional"):
        ev(TinyG(), acc)
    unlabelled = ImageData(data.images, None, num_classes=0)
    with pytest.raises(GankitError, match=r"^metrics\[0\]: metric 'intra_fd' needs labelled data"):
        Evaluator(_cfg([{"name": "intra_fd"}]), unlabelled, "cpu", conditional=True)
