"""Commit a long benchmark's results as they land, and resume it in a later session from them.

    python -m worldplan.benchmark.snapshot save    <run dir> <committed dir> [--benchmark cpu]
    python -m worldplan.benchmark.snapshot restore <run dir> <committed dir>

save first rewrites the run folder's report over every finished stage of the preset's whole grid
(``--benchmark``, all its envs: one process per env may still be running), then copies what is
small and final into a committed folder: the report files
(``episodes.jsonl``, ``validation.jsonl``, ``cells.jsonl``, ``results.md``, ``efficiency.md``,
plots) and, under ``run/``, each finished evaluation's summary, episodes and stage record, each
fine-tuning's metrics and record, and each pretraining's meta.json, never weights (a checkpoint
holds the encoder too: 86 MB). restore copies ``run/`` back into a run folder: the
benchmark then skips the finished evaluations and the fine-tunes and corpora only they needed
(``worldplan.benchmark.runner.stages_to_run``).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from worldplan.benchmark.grid import all_stages
from worldplan.benchmark.report import write_report
from worldplan.config import compose

REPORT = ("episodes.jsonl", "validation.jsonl", "cells.jsonl", "results.md", "efficiency.md", "run_times.json",
          "*.png")
RUN_FILES = ("*/eval/*/summary.json", "*/eval/*/episodes.jsonl", "*/eval/*/benchmark_stage.json",
             "*/checkpoints/*/metrics.json", "*/checkpoints/*/benchmark_stage.json", "*/checkpoints/pretrain/meta.json")


def _copy(files: list[Path], source: Path, target: Path) -> int:
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return len(files)


def save(run: Path, kept: Path, *, preset: str | None = None) -> int:
    """Rewrite ``run``'s report for benchmark ``preset`` (if given), then copy the report files and the
    light run files of ``run`` into ``kept``; return how many files were copied."""
    if preset is not None:
        stages = all_stages(compose("config", [f"benchmark={preset}", f"benchmark.out={run}"]).benchmark)
        if any(stage.kind == "plan" and stage.done_file.exists() for stage in stages):
            write_report(run, stages)
    report = [p for pattern in REPORT for p in run.glob(pattern) if p.is_file()]
    light = [p for pattern in RUN_FILES for p in run.glob(pattern) if p.is_file()]
    return _copy(report, run, kept) + _copy(light, run, kept / "run")


def restore(run: Path, kept: Path) -> int:
    """Copy ``kept/run`` back into ``run``; return how many files."""
    return _copy([p for p in (kept / "run").rglob("*") if p.is_file()], kept / "run", run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("save", "restore"))
    parser.add_argument("run", type=Path, help="the benchmark's run folder (benchmark.out)")
    parser.add_argument("kept", type=Path, help="the committed folder, e.g. docs/results/data_efficiency")
    parser.add_argument("--benchmark", default="cpu", help="save: the preset whose report is rewritten first")
    args = parser.parse_args()
    count = save(args.run, args.kept, preset=args.benchmark) if args.mode == "save" else restore(args.run, args.kept)
    print(f"{args.mode}: {count} files")


if __name__ == "__main__":
    main()
