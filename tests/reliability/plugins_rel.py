"""Test-only components, loaded through a recipe's ``plugins:`` list."""
import math
import time

import torch

from gankit.losses.adversarial import AdversarialLoss, _bce
from gankit.config.registry import LOSSES


@LOSSES.register("reliability_nan_at")
def nan_at(step: int = 3) -> AdversarialLoss:
    """Non-saturating loss whose D loss is NaN at the ``step``-th iteration (1-based) of this process."""
    calls = {"n": 0}

    def d(real, fake):
        calls["n"] += 1
        loss = _bce(real, 1.0) + _bce(fake, 0.0)
        return loss * math.nan if calls["n"] == step else loss

    return AdversarialLoss(d=d, g=lambda fake, real=None: _bce(fake, 1.0))


@LOSSES.register("reliability_slow")
def slow(seconds: float = 1.0, after: int = 0, marker: str | None = None) -> AdversarialLoss:
    """Non-saturating loss that sleeps ``seconds`` in every D step after the first ``after`` ones
    (``marker``: a file made when the first sleep begins, so a test knows the step is under way)."""
    calls = {"n": 0}

    def d(real, fake):
        calls["n"] += 1
        if calls["n"] > after:
            if marker:
                open(marker, "a").close()
            time.sleep(seconds)
        return _bce(real, 1.0) + _bce(fake, 0.0)

    return AdversarialLoss(d=d, g=lambda fake, real=None: _bce(fake, 1.0))


_ = torch  # (keeps the import explicit: plugins may use torch freely)
