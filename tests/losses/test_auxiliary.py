"""ACGAN's class loss against its formula."""
import math

import torch

from gankit.losses.auxiliary import class_loss


def test_class_loss_is_the_mean_negative_log_likelihood_of_the_label():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]], dtype=torch.bfloat16)
    labels = torch.tensor([0, 2])
    p0 = math.exp(2.0) / (math.exp(2.0) + 1 + math.exp(-1.0))
    expected = (-math.log(p0) - math.log(1 / 3)) / 2
    out = class_loss(logits, labels)
    assert out.dtype == torch.float32 and abs(out.item() - expected) < 1e-6
