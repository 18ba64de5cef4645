"""Numbers over seeds: mean, standard deviation (ddof=1) and a 95 % bootstrap interval of the mean."""
import math
from dataclasses import dataclass

import numpy as np

from gankit.runs.pages import number, with_error

BOOTSTRAP_ROUNDS = 2000
BOOTSTRAP_SEED = 0  # fixed: the same page for the same runs


@dataclass
class Summary:
    n: int
    mean: float
    sd: float | None  # None for a single value
    low: float | None  # 95 % bootstrap interval of the mean (None for a single value)
    high: float | None
    values: list[float]

    def as_dict(self) -> dict:
        return {"n": self.n, "mean": self.mean, "sd": self.sd, "ci95": [self.low, self.high] if self.low is not None
                else None, "values": self.values}


def summarise(values, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED) -> Summary | None:
    """Mean, sd (ddof=1) and percentile bootstrap interval of the finite ``values`` (None if there are none)."""
    xs = np.array([float(v) for v in values if v is not None and math.isfinite(float(v))], dtype=np.float64)
    if xs.size == 0:
        return None
    mean = float(xs.mean())
    if xs.size == 1:
        return Summary(1, mean, None, None, None, xs.tolist())
    low, high = bootstrap_ci(xs, rounds, seed)
    return Summary(int(xs.size), mean, float(xs.std(ddof=1)), low, high, xs.tolist())


def bootstrap_ci(xs, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED, level: float = 0.95):
    """The percentile bootstrap interval of the mean of ``xs`` (resampled with replacement)."""
    xs = np.asarray(xs, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = xs[rng.integers(0, xs.size, size=(rounds, xs.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def fmt(s: Summary | None) -> str:
    """``161 ± 11 [151, 169]``, ``0.1235 ± 0.0040 [0.1195, 0.1278]`` (the sd at two significant figures, the
    rest to its last digit), one value at three significant figures; "—" when there is nothing."""
    if s is None:
        return "—"
    if s.sd is None:
        return number(s.mean)
    mean, sd, low, high = with_error(s.mean, s.sd, s.low, s.high)
    return f"{mean} ± {sd} [{low}, {high}]"
