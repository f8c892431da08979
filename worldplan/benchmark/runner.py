"""Run the benchmark's stages in order, skipping finished ones, with a progress bar."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig
from tqdm import tqdm

from worldplan.benchmark.grid import Stage, all_stages, stage_overrides
from worldplan.config import compose
from worldplan.data.episodes import write_json_atomic

logger = logging.getLogger(__name__)

STAGE_RECORD = "benchmark_stage.json"  # beside each stage's done file: the overrides it was made with


def _collect(cfg: DictConfig) -> None:
    from worldplan.commands.collect import collect_from_config

    collect_from_config(cfg, progress=False)


def _pretrain(cfg: DictConfig) -> None:
    from worldplan.train.pretrain import pretrain

    pretrain(cfg)


def _finetune(cfg: DictConfig) -> None:
    from worldplan.train.finetune import finetune

    finetune(cfg)


def _plan(cfg: DictConfig) -> None:
    from worldplan.commands.plan import plan_from_config

    plan_from_config(cfg)


RUNNERS: dict[str, Callable[[DictConfig], None]] = {
    "collect": _collect, "pretrain": _pretrain, "finetune": _finetune, "plan": _plan,
}


def _record_file(stage: Stage) -> Path:
    return stage.done_file.parent / STAGE_RECORD


def is_done(bench: DictConfig, stage: Stage) -> bool:
    """Whether ``stage`` finished with the same overrides it would run with now.

    Raises:
        ValueError: its outputs exist but were made with other overrides (a changed preset): reusing
            them would mix settings, re-running would overwrite them.
    """
    if not stage.done_file.exists():
        return False
    record = _record_file(stage)
    made_with = json.loads(record.read_text())["overrides"] if record.exists() else None
    if made_with != stage_overrides(bench, stage):
        raise ValueError(f"{stage.done_file.parent} holds a {stage.kind} stage made with other settings "
                         f"({record.name}: {made_with}); use another benchmark.out or delete that directory")
    return True


def run_stage(bench: DictConfig, stage: Stage) -> float:
    """Compose the stage's config and run it unless done; return the seconds it took (0 when done)."""
    if is_done(bench, stage):
        return 0.0
    overrides = stage_overrides(bench, stage)
    start = time.perf_counter()
    RUNNERS[stage.kind](compose("config", overrides))
    if not stage.done_file.exists():
        raise RuntimeError(f"benchmark stage {stage.kind} {stage.env} finished without writing {stage.done_file}")
    write_json_atomic(_record_file(stage), {"overrides": overrides})
    return time.perf_counter() - start


def run_benchmark(bench: DictConfig, *, progress: bool = True) -> dict[str, float]:
    """Run every stage of ``bench`` not finished yet. Returns seconds spent per stage kind."""
    stages = all_stages(bench)
    seconds: dict[str, float] = {}
    todo = [s for s in stages if not is_done(bench, s)]
    logger.info("benchmark %s: %d stages, %d already done", bench.name, len(stages), len(stages) - len(todo))
    with tqdm(todo, desc=f"benchmark {bench.name}", unit="stage", disable=not progress) as bar:
        for stage in bar:
            bar.set_postfix_str(f"{stage.kind} {stage.env} {stage.done_file.parent.name}")
            seconds[stage.kind] = seconds.get(stage.kind, 0.0) + run_stage(bench, stage)
    return seconds
