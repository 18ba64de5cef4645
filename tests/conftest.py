import os

# No account, no network: trackers are no-ops in tests; keep threads modest on small CI machines.
os.environ.setdefault("WANDB_MODE", "disabled")
# Under pytest-xdist (`-n logical`, the default here: one worker per CPU, plus one) each worker runs one
# thread, set outright, since workers inherit the controller's environment; their subprocesses inherit it too.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
else:
    os.environ.setdefault("OMP_NUM_THREADS", "2")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data"
FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def tiny_recipe() -> Path:
    """A recipe that trains the reference models on synthetic data in a few seconds."""
    return ROOT / "tests" / "recipes" / "tiny.yaml"


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    if not (SHARED_MNIST / "MNIST" / "raw").is_dir():
        pytest.skip("the offline MNIST test split is not available")
    return SHARED_MNIST


@pytest.fixture
def fashion_root() -> Path:
    if not FASHION.is_dir():
        pytest.skip("Fashion-MNIST (Debian dataset-fashion-mnist) is not installed")
    return FASHION


def pytest_xdist_auto_num_workers(config):
    """`-n logical` / `-n auto`: a worker per CPU this process may use, plus one. About a quarter of the
    workers' time is spent waiting (on subprocesses, timeouts, heartbeats), and the spare worker fills it:
    on 2 cores with oneDNN held to AVX2, 536 s against 657 s with two workers (docs/benchmarks.md).
    PYTEST_XDIST_AUTO_NUM_WORKERS still overrides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cpus + 1


def pytest_collection_modifyitems(config, items):
    """The longest tests first, so that the workers of `-n logical` (pytest-xdist) end together instead of
    one of them starting a minute-long test when the others have nothing left: in `-m long` (minutes each)
    the longest of them first, in the default run (which leaves `long` out) the `slow` end-to-end tests."""
    items.sort(key=lambda item: (item.get_closest_marker("long") is None,
                                 -LONG_FIRST.get(item.originalname, 0),
                                 item.get_closest_marker("slow") is None))  # stable: file order within each


# `long` tests by their length (seconds on 2 busy cores), the longest first in `-m long`
LONG_FIRST = {
    "test_on_the_reference_recipe_the_ema_is_no_worse_than_the_raw_generator": 440,
    "test_conditional_recipe_draws_the_requested_digits": 300,
}
