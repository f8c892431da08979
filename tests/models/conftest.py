"""Run the world-model tests on one CPU thread: their tensors are tiny, and on the shared 2-core
machine a second thread mostly waits for a time slice (measured: ~100x slower under load)."""

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
