import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Small float64 ops run far slower with several OpenMP threads on a busy 2-core machine
    (a 20-subset KID: 10 s with 2 threads, 0.7 s with 1); these tests use one."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
