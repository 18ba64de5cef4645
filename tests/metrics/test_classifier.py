"""Classifier score and mode coverage against hand computations."""
import numpy as np
import pytest
import torch

from gankit.metrics.classifier import ClassifierScore, ModeCoverage, classifier_score


def test_classifier_score_uniform_is_one_and_confident_balanced_is_ten():
    uniform = torch.full((100, 10), 0.1)
    onehot = torch.eye(10).repeat(10, 1)
    assert classifier_score(uniform) == pytest.approx(1.0)
    assert ClassifierScore()(None, onehot)["classifier_score"] == pytest.approx(10.0)
    # all samples confidently the same class: p(y) = p(y|x), score 1
    assert classifier_score(torch.eye(10)[[3] * 50]) == pytest.approx(1.0)


def test_mode_coverage_counts_classes_above_one_percent():
    counts = {0: 500, 1: 300, 2: 195, 3: 5}  # class 3 holds 0.5 %: not a mode
    labels = torch.cat([torch.full((n,), c) for c, n in counts.items()])
    probs = torch.nn.functional.one_hot(labels, 10).float() * 0.9 + 0.01
    out = ModeCoverage()(None, probs)
    p = np.array([500, 300, 195, 5]) / 1000
    assert out["modes"] == 3
    assert out["modes_kl"] == pytest.approx(float((p * np.log(10 * p)).sum()))
    balanced = ModeCoverage()(None, torch.eye(10).repeat(3, 1))
    assert balanced == {"modes": 10.0, "modes_kl": pytest.approx(0.0, abs=1e-12)}
