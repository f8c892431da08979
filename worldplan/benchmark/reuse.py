"""Start a variant from another run's finished stages (``benchmark.reuse_from``).

A variant (say other pretraining settings, under its own ``benchmark.name``) shares most stages with the
run it varies: the datasets and their encoded features, the scratch fine-tunes and their evaluations. Each
such stage is hard-linked (copied across file systems) into the variant's folder when the other run finished
it with the settings the variant would use (``made_alike``, paths rewritten to the variant's folder) and every
stage it reads was made alike there too, so nothing made from other inputs is taken. A stage whose products
are gone (results committed without the weights) is not linked, but the evaluations made from it are. The link is made
beside the target and renamed into place, so an interrupted reuse leaves nothing half-linked; the stage
record says ``reused_from``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from omegaconf import DictConfig

from worldplan.atomic import write_json_atomic
from worldplan.benchmark.grid import STAGE_RECORD, Stage, made_alike

logger = logging.getLogger(__name__)

REUSED_FROM = "reused_from"  # key of a stage record: the directory the stage was linked from


def reuse_finished(bench: DictConfig, stages: list[Stage]) -> list[Stage]:
    """Link into ``bench.out`` the stages of ``stages`` (in dependency order) that the run at
    ``bench.reuse_from`` finished alike; returns those linked now (earlier links count as alike)."""
    source_out, out = Path(bench.reuse_from), Path(bench.out)
    if not source_out.is_dir():
        raise ValueError(f"benchmark.reuse_from={source_out} is not a directory: give the out folder of a "
                         f"finished or partly finished benchmark run")
    if source_out.resolve() == out.resolve():
        raise ValueError(f"benchmark.reuse_from={source_out} is this run's own folder (benchmark.out)")
    alike: set[Path] = set()  # outputs of stages the source run made as this run would (linked or not)
    linked = []
    for stage in stages:
        if stage.output.exists():
            if _record(stage.output).get(REUSED_FROM):
                alike.add(stage.output)
            continue
        source = source_out / stage.output.relative_to(out)
        if not (_reads_only(stage, alike, out) and _made_alike(bench, stage, source)):
            continue
        alike.add(stage.output)  # its evaluations are valid here, even where its weights were not kept
        if all((source / name).exists() for name in stage.products):
            _link_tree(source, stage.output, out)
            linked.append(stage)
    logger.info("benchmark %s: %d stages taken from %s", bench.name, len(linked), source_out)
    return linked


def _record(directory: Path) -> dict:
    record = directory / STAGE_RECORD
    return json.loads(record.read_text()) if record.exists() else {}


def _reads_only(stage: Stage, alike: set[Path], out: Path) -> bool:
    """Whether every input of ``stage`` inside this run was made alike by the source run (inputs outside
    both runs, say a sweep's checkpoints, are the same for both)."""
    return all(path in alike or not path.is_relative_to(out) for path in stage.inputs)


def _made_alike(bench: DictConfig, stage: Stage, source: Path) -> bool:
    """Whether ``source`` holds ``stage`` finished (its products may be gone) with the settings it has here."""
    made_with = _record(source).get("overrides")
    return ((source / stage.done_file.name).exists() and made_with is not None
            and made_alike(bench, stage, _moved(made_with, Path(bench.out))))


def _moved(overrides: list[str], out: Path) -> list[str]:
    """``overrides`` recorded in another run with that run's folder replaced by ``out`` in every path. The
    folder is read from the record (its ``workdir`` is the folder's env subfolder), so it matches however
    ``reuse_from`` is spelled (relative or absolute)."""
    workdir = next((o.split("=", 1)[1] for o in overrides if o.startswith("workdir=")), None)
    if workdir is None:
        return overrides
    recorded = Path(workdir).parent
    return [o.replace(f"{recorded}/", f"{out}/") for o in overrides]


def _link_tree(source: Path, target: Path, out: Path) -> None:
    """Hard-link (or copy) ``source`` to ``target``, its stage record rewritten, through a sibling renamed
    into place."""
    staging = target.with_name(f".reuse-{target.name}")
    if staging.exists():
        shutil.rmtree(staging)  # left by an interrupted reuse
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, staging, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(STAGE_RECORD))
    record = _record(source)
    write_json_atomic(staging / STAGE_RECORD, {**record, "overrides": _moved(record["overrides"], out),
                                               REUSED_FROM: str(source)})
    os.rename(staging, target)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)
