"""``worldplan benchmark``: envs x planners x {pretrained, scratch} x data sizes x seeds, resumable.

``benchmark=cpu`` (the default; under an hour on 2 CPU cores), ``benchmark=gpu`` (DINO-WM scale) or
``benchmark=tiny`` (tests). Finished stages are skipped on re-runs. Writes under ``benchmark.out``:
per-env data, checkpoints and evaluations, then ``episodes.jsonl`` (every episode, tagged with its
cell), ``cells.jsonl``, ``results.md`` and plots.
"""

from __future__ import annotations

import time
from pathlib import Path

from omegaconf import DictConfig

from worldplan.benchmark.grid import report_stages
from worldplan.benchmark.report import TABLE_COLUMNS, write_report
from worldplan.benchmark.runner import run_benchmark
from worldplan.config import save_config
from worldplan.evaluate.metrics import markdown_table


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan benchmark``."""
    bench, out = cfg.benchmark, Path(cfg.benchmark.out)
    save_config(cfg, out)
    start = time.perf_counter()
    seconds = run_benchmark(bench)
    reference = bench.sweep.reference if bench.get("sweep") else None
    rows = write_report(out, report_stages(bench), sweep_reference=reference)
    print(markdown_table(rows, TABLE_COLUMNS))
    spent = ", ".join(f"{kind} {s:.0f} s" for kind, s in seconds.items()) or "nothing new to run"
    print(f"benchmark {bench.name}: {time.perf_counter() - start:.0f} s ({spent}); outputs: {out}")
