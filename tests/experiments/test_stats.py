"""Mean, sd and the bootstrap interval against numpy."""
import math

import numpy as np

from gankit.experiments import stats


def test_mean_and_sd_are_numpy_s_with_ddof_1():
    xs = [110.2, 198.0, 151.5, 140.25]
    s = stats.summarise(xs)
    assert s.n == 4 and math.isclose(s.mean, np.mean(xs)) and math.isclose(s.sd, np.std(xs, ddof=1))


def test_the_bootstrap_interval_is_numpy_s_percentiles_of_resampled_means_and_contains_the_mean():
    xs = np.array([3.0, 7.0, 4.5, 9.0, 5.5])
    s = stats.summarise(xs)
    rng = np.random.default_rng(stats.BOOTSTRAP_SEED)
    means = xs[rng.integers(0, 5, size=(stats.BOOTSTRAP_ROUNDS, 5))].mean(axis=1)
    assert (s.low, s.high) == tuple(np.percentile(means, [2.5, 97.5]))
    assert xs.min() <= s.low < s.mean < s.high <= xs.max()
    assert stats.summarise(xs) == s  # the same interval every time (fixed generator)


def test_single_values_missing_and_non_finite_ones():
    one = stats.summarise([2.0, None, float("nan")])
    assert (one.n, one.mean, one.sd, one.low) == (1, 2.0, None, None)
    assert stats.summarise([None, float("inf")]) is None
    assert stats.fmt(None) == "—" and stats.fmt(one) == "2"
    assert stats.fmt(stats.summarise([1.0, 3.0])).startswith("2.0 ± 1.4 [")
