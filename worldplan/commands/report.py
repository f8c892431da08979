"""``worldplan report path=<dir>``: results tables from what runs wrote.

- ``<dir>`` holds a benchmark's ``episodes.jsonl`` (``benchmark.out``, or a committed copy such as
  ``docs/results/data_efficiency``): the data-efficiency tables and figures, written there as
  ``efficiency.md`` and ``success_vs_size_<env>.png``; for a planner sweep's (its episodes carry a
  budget: ``docs/results/planners/wall``), ``planners.md`` and its plots, against CEM.
- otherwise, ``<dir>`` is any folder holding evaluations (a workdir, ``runs/``): one table with a row
  per evaluation found under it (``worldplan.evaluate.runs_table``), written as ``evaluations.md``.

Either way the markdown is printed.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from worldplan.atomic import write_text_atomic
from worldplan.benchmark.efficiency import EPISODES_FILE, read_jsonl, write_efficiency_report
from worldplan.benchmark.sweep import write_sweep_report
from worldplan.evaluate.runs_table import evaluations_table

TABLE_FILE = "evaluations.md"
SWEEP_REFERENCE = "cem"  # the planner a sweep's paired differences are against (configs/benchmark/planners.yaml)


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan report``."""
    if cfg.path is None:
        raise ValueError("worldplan report needs path=<dir>: a benchmark's output or a folder of evaluations")
    folder = Path(cfg.path)
    if not folder.is_dir():
        raise FileNotFoundError(f"path={folder} is not a directory")
    if (folder / EPISODES_FILE).exists():
        episodes = read_jsonl(folder / EPISODES_FILE)
        is_sweep = bool(episodes) and episodes[0].get("budget") is not None
        print(write_sweep_report(folder, SWEEP_REFERENCE) if is_sweep else write_efficiency_report(folder))
        return
    table = f"# Evaluations under {folder}\n\n{evaluations_table(folder)}\n"
    write_text_atomic(folder / TABLE_FILE, table)
    print(table)
