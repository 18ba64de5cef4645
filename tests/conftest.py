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
    one of them starting a minute-long test when the others have nothing left: the `long` set's (in
    `-m long`; the default run leaves them out), then the `slow` end-to-end tests, each set's longest
    known ones (LONGEST) at its head."""
    items.sort(key=lambda item: (item.get_closest_marker("long") is None, item.get_closest_marker("slow") is None,
                                 -LONGEST.get(item.originalname, 0)))  # stable: file order within each


# The longest tests by name, with their seconds beside other jobs on 2 cores (`--durations`, 2026-12-07)
LONGEST = {
    # -m long
    "test_on_the_reference_recipe_the_ema_is_no_worse_than_the_raw_generator": 444,
    "test_conditional_recipe_draws_the_requested_digits": 316,
    # the default run
    "test_two_workers_one_killed_mid_trial_lose_and_repeat_nothing": 140,
    "test_marked_commands_run": 110,
    "test_a_killed_rank_ends_the_other_with_a_message_and_the_run_resumes_exactly": 77,
    "test_two_nodes_write_one_run_and_resume_exactly": 72,
    "test_grad_accum_equals_one_big_batch_and_clips_once_per_step": 64,
    "test_cli_in_a_real_process_prints_no_traceback": 54,
    "test_a_hung_rank_makes_the_other_give_up_after_ddp_timeout_s": 54,
    "test_real_pip_install_of_the_example_package": 51,
}
