"""``worldplan report path=<dir>``: the data-efficiency tables and figures from a benchmark's JSONL files.

``<dir>`` is a benchmark's output (``benchmark.out``) or a committed copy of its ``episodes.jsonl`` and
``validation.jsonl`` (``docs/results/benchmark_cpu``); writes ``efficiency.md`` and
``success_vs_size_<env>.png`` there and prints the markdown.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from worldplan.benchmark.efficiency import write_efficiency_report


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan report``."""
    if cfg.path is None:
        raise ValueError("worldplan report needs path=<dir> holding a benchmark's episodes.jsonl")
    print(write_efficiency_report(Path(cfg.path)))
