"""Core tests run torch on one thread: their tensors are small, and two OpenMP threads on
a shared two-core machine spin against other processes (measured: a 40-step run went
from 0.06 s to 7 s under load). The setting is restored after each test."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
