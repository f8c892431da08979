"""With ``benchmark.jobs`` > 1 the workers' log records print in the main process, above the progress bar."""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from worldplan.benchmark.runner import _forward_logs, _worker_init


def _log_in_worker(message: str) -> int:
    logging.getLogger("worldplan.test_worker").info(message)
    return os.getpid()


def test_a_workers_log_record_reaches_the_main_process_handlers(caplog: pytest.LogCaptureFixture) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    with caplog.at_level(logging.INFO):
        listener = _forward_logs(queue)
        try:
            with ProcessPoolExecutor(1, mp_context=context, initializer=_worker_init, initargs=(1, queue)) as pool:
                worker = pool.submit(_log_in_worker, "hello from a worker").result()
        finally:
            listener.stop()
    assert worker != os.getpid()
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("worldplan.test_worker", "hello from a worker")]
