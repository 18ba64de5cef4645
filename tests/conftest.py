import os

# No account, no network: trackers are no-ops in tests; keep threads modest on small CI machines.
os.environ.setdefault("WANDB_MODE", "disabled")
# With pytest-xdist (`-n 2`) each worker gets one core, so one thread each (their subprocesses inherit it).
os.environ.setdefault("OMP_NUM_THREADS", "1" if os.environ.get("PYTEST_XDIST_WORKER") else "2")

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
