"""Fixtures for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Run on one CPU thread: the tensors are tiny, and on a shared 2-core machine two threads per
    process lose 5-15x to OpenMP contention."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _offline_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test (and the CLI subprocesses it starts) off the network: with ``HF_HUB_OFFLINE``
    set, ``encoder.allow_download=auto`` never probes or downloads. Tests of the online paths unset it
    and replace the downloader."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
