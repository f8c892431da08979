"""Run the benchmark's stages in order, skipping finished ones, with a progress bar."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import torch
from omegaconf import DictConfig
from tqdm import tqdm

from worldplan.atomic import write_json_atomic
from worldplan.benchmark.grid import STAGE_RECORD, Stage, all_stages, relevant_overrides, stage_overrides
from worldplan.config import compose

logger = logging.getLogger(__name__)



def _collect(cfg: DictConfig) -> None:
    from worldplan.data.collect import collect_from_config

    collect_from_config(cfg, progress=False)


def _pretrain(cfg: DictConfig) -> None:
    from worldplan.train.pretrain import pretrain

    pretrain(cfg)


def _finetune(cfg: DictConfig) -> None:
    from worldplan.train.finetune import finetune

    finetune(cfg)


def _plan(cfg: DictConfig) -> None:
    from worldplan.evaluate.plan import plan_from_config

    plan_from_config(cfg)


RUNNERS: dict[str, Callable[[DictConfig], None]] = {
    "collect": _collect, "pretrain": _pretrain, "finetune": _finetune, "plan": _plan,
}


def _record_file(stage: Stage) -> Path:
    return stage.done_file.parent / STAGE_RECORD


def is_done(bench: DictConfig, stage: Stage) -> bool:
    """Whether ``stage`` finished with the same overrides it would run with now (those it reads).

    Raises:
        ValueError: its outputs exist but were made with other overrides (a changed preset): reusing
            them would mix settings, re-running would overwrite them.
    """
    if not stage.done_file.exists() or not all((stage.output / name).exists() for name in stage.products):
        return False
    record = _record_file(stage)
    made_with = json.loads(record.read_text())["overrides"] if record.exists() else None
    if made_with is None or (relevant_overrides(stage.kind, made_with)
                             != relevant_overrides(stage.kind, stage_overrides(bench, stage))):
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
    seconds = time.perf_counter() - start
    write_json_atomic(_record_file(stage), {"overrides": overrides, "seconds": round(seconds, 1),
                                            "threads": torch.get_num_threads()})
    return seconds


def stages_to_run(bench: DictConfig, stages: list[Stage]) -> list[Stage]:
    """The unfinished stages that matter: every unfinished plan stage and what it needs, transitively.

    A finished evaluation needs no checkpoint and a finished pretraining no corpus, so a run resumed
    from committed results (evaluations, pretrained checkpoints) does not redo their inputs.
    """
    needed: set[Path] = set()
    todo = []
    for stage in reversed(stages):
        if is_done(bench, stage) or not (stage.kind == "plan" or stage.output in needed):
            continue
        needed.update(stage.inputs)
        todo.append(stage)
    return todo[::-1]


def run_benchmark(bench: DictConfig, *, progress: bool = True) -> dict[str, float]:
    """Run every stage of ``bench`` still needed (`stages_to_run`). Returns seconds spent per stage kind."""
    stages = all_stages(bench)
    seconds: dict[str, float] = {}
    todo = stages_to_run(bench, stages)
    logger.info("benchmark %s: %d stages, %d done or not needed", bench.name, len(stages), len(stages) - len(todo))
    with tqdm(todo, desc=f"benchmark {bench.name}", unit="stage", disable=not progress) as bar:
        for stage in bar:
            bar.set_postfix_str(f"{stage.kind} {stage.env} {stage.done_file.parent.name}")
            seconds[stage.kind] = seconds.get(stage.kind, 0.0) + run_stage(bench, stage)
    return seconds
