"""Fixtures shared by the deep tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Run on one thread: on these tiny tensors OpenMP's two-thread barriers cost more
    than they save, and they spin for up to 10x longer when other processes share the
    two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
