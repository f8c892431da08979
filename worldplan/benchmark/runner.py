"""Run the benchmark's stages, skipping finished ones, with a progress bar: in order in this process,
or with ``benchmark.jobs`` > 1 on that many worker processes, each stage once the stages it reads have
finished (a scratch fine-tune does not wait for the pretraining). Small models gain little from a second
thread (a fine-tuning step of the CPU preset: 1.14x with two, ``benchmarks/results/threads.md``), so on
C cores ``jobs`` processes of C // jobs threads each finish a grid sooner than one of C threads."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from worldplan.atomic import write_json_atomic
from worldplan.benchmark.grid import STAGE_RECORD, Stage, all_stages, made_alike, stage_overrides
from worldplan.benchmark.reuse import reuse_finished
from worldplan.config import compose
from worldplan.models.precision import resolve_train_dtype
from worldplan.provenance import machine

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
    if made_with is None or not made_alike(bench, stage, made_with):
        raise ValueError(f"{stage.done_file.parent} holds a {stage.kind} stage made with other settings "
                         f"({record.name}: {made_with}); use another benchmark.out or delete that directory")
    return True


def run_stage(bench: DictConfig, stage: Stage) -> float:
    """Compose the stage's config and run it unless done; return the seconds it took (0 when done)."""
    if is_done(bench, stage):
        return 0.0
    _clear_restored(stage)
    overrides = stage_overrides(bench, stage)
    start = time.perf_counter()
    RUNNERS[stage.kind](compose("config", overrides))
    if not stage.done_file.exists():
        raise RuntimeError(f"benchmark stage {stage.kind} {stage.env} finished without writing {stage.done_file}")
    seconds = time.perf_counter() - start
    write_json_atomic(_record_file(stage), {"overrides": overrides, "seconds": round(seconds, 1),
                                            "threads": torch.get_num_threads(), "machine": machine()})
    return seconds


def _clear_restored(stage: Stage) -> None:
    """Remove the record and done file a snapshot restored for a stage whose products it does not keep (a
    fine-tune's weights), and then its output folder if empty, so the stage can run again and write it anew
    (a checkpoint is never written over a folder that is not one)."""
    if not stage.done_file.exists():
        return
    stage.done_file.unlink()
    _record_file(stage).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: the stage's own writer decides
        stage.output.rmdir()


def stages_to_run(bench: DictConfig, stages: list[Stage]) -> list[Stage]:
    """The unfinished stages that matter: every unfinished plan stage and what it needs, transitively.

    A finished evaluation needs no checkpoint and a finished pretraining no corpus, so a run resumed
    from committed results (evaluations, pretrained checkpoints) does not redo their inputs. Every finished
    stage is checked against the settings it would run with now (``is_done`` raises on a change).
    """
    needed: set[Path] = set()
    todo = []
    for stage in reversed(stages):
        wanted = stage.kind == "plan" or stage.output in needed
        if not wanted and not _record_file(stage).exists():
            continue  # unfinished, or being written by a process beside this one (its record comes last)
        if is_done(bench, stage) or not wanted:  # a finished stage is still checked against the settings
            continue
        needed.update(stage.inputs)
        todo.append(stage)
    return todo[::-1]


def warn_mixed_precision(bench: DictConfig, stages: list[Stage], todo: list[Stage]) -> None:
    """Warn when the first fine-tune to run of an env would train in another precision than that env's finished
    ones (one config composed per env): a grid resumed where ``train.amp=auto`` resolves otherwise (a bf16 GPU
    after CPUs) would compare models trained in two precisions, which changed results here (Wall's grid on an
    AMX machine). The report flags such a mix too (``efficiency.precision_note``)."""
    finished: dict[str, set[str]] = {}
    for stage in stages:
        if stage.kind == "finetune" and stage not in todo and stage.done_file.exists():
            precision = json.loads(stage.done_file.read_text()).get("precision")  # older records have none
            if precision:
                finished.setdefault(stage.env, set()).add(precision)
    for stage in todo:
        if stage.kind != "finetune" or stage.env not in finished:
            continue
        trained = finished.pop(stage.env)
        cfg = compose("config", stage_overrides(bench, stage))
        now = resolve_train_dtype(str(cfg.train.amp), str(cfg.device))
        if trained != {now}:
            logger.warning("%s: its finished fine-tunes trained in %s; here the remaining ones would train in %s "
                           "(train.amp=%s, device=%s), so the report would compare models of two precisions. To "
                           "match, finish the grid on the kind of machine that trained them (CUDA_VISIBLE_DEVICES= "
                           "trains on the CPU) or use another benchmark.out", stage.env, ", ".join(sorted(trained)),
                           now, cfg.train.amp, cfg.device)


def _label(stage: Stage) -> str:
    return f"{stage.kind} {stage.env} {stage.done_file.parent.name}"


RUN_LOG = "run.log"


def run_benchmark(bench: DictConfig, *, progress: bool = True) -> dict[str, float]:
    """Run every stage of ``bench`` still needed (`stages_to_run`), on ``bench.jobs`` processes (1: this
    one), after taking what ``bench.reuse_from`` finished alike (``reuse_finished``). Every log record of
    the run, the workers' too, is also appended with its time to ``<benchmark.out>/run.log``, so a run left
    in the background keeps its log in its folder (a resumed run appends). Returns seconds spent per stage
    kind."""
    with _log_to(Path(bench.out) / RUN_LOG):
        return _run_stages(bench, progress)


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """Append the root logger's records to ``path`` while the block runs, INFO and above even where the
    root logger is set quieter (its level is restored after)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")  # mode "a"
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def _run_stages(bench: DictConfig, progress: bool) -> dict[str, float]:
    """``run_benchmark`` without its log file."""
    stages = all_stages(bench)
    if bench.get("reuse_from"):
        reuse_finished(bench, stages)
    todo = stages_to_run(bench, stages)
    warn_mixed_precision(bench, stages, todo)
    jobs = int(bench.get("jobs") or 1)
    if jobs < 1:
        raise ValueError(f"benchmark.jobs={jobs}: use 1 (stages in this process) or more worker processes")
    logger.info("benchmark %s: %d stages, %d done or not needed", bench.name, len(stages), len(stages) - len(todo))
    seconds: dict[str, float] = {}
    # the bar only on a terminal (disable=None); a log file gets one line per finished stage (`_finished`)
    with tqdm(total=len(todo), desc=f"benchmark {bench.name}", unit="stage", disable=None if progress else True
              ) as bar, logging_redirect_tqdm():  # log lines (the workers' too) print above the bar, never inside it
        if jobs == 1:
            for count, stage in enumerate(todo, start=1):
                bar.set_postfix_str(_label(stage))
                spent = run_stage(bench, stage)
                seconds[stage.kind] = seconds.get(stage.kind, 0.0) + spent
                _finished(bar, stage, spent, count)
        else:
            for stage, spent in _run_parallel(bench, todo, jobs, bar):
                seconds[stage.kind] = seconds.get(stage.kind, 0.0) + spent
    return seconds


def _worker_init(threads: int, log_queue: multiprocessing.Queue) -> None:
    """A worker process: its share of the cores; its log records go to the main process (``_forward_logs``)."""
    torch.set_num_threads(threads)
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(log_queue)]
    root.setLevel(logging.INFO)


def _forward_logs(log_queue: multiprocessing.Queue) -> logging.handlers.QueueListener:
    """Started in the main process: hands the workers' records to its root handlers (the progress bar's,
    under ``logging_redirect_tqdm``), so two workers' lines never interleave mid-line with the bar."""
    handlers = logging.getLogger().handlers or [logging.StreamHandler()]
    listener = logging.handlers.QueueListener(log_queue, *handlers, respect_handler_level=True)
    listener.start()
    return listener


def _run_in_worker(bench: dict, stage: Stage) -> float:
    return run_stage(OmegaConf.create(bench), stage)


def _run_parallel(bench: DictConfig, todo: list[Stage], jobs: int, bar: tqdm) -> list[tuple[Stage, float]]:
    """Run ``todo`` on ``jobs`` spawned processes (`_schedule`); threads per process: ``OMP_NUM_THREADS`` if
    set, else cores // jobs. Their log records print in this process (`_forward_logs`)."""
    threads = int(os.environ.get("OMP_NUM_THREADS") or max(1, (os.cpu_count() or 1) // jobs))
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch thread pools
    log_queue = context.Queue()
    listener = _forward_logs(log_queue)
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init,
                                 initargs=(threads, log_queue)) as pool:
            return _schedule(pool, bench, todo, jobs, bar)
    finally:
        listener.stop()  # after the workers exit: their last records are printed


def _schedule(pool: ProcessPoolExecutor, bench: DictConfig, todo: list[Stage], jobs: int,
              bar: tqdm) -> list[tuple[Stage, float]]:
    """Submit ``todo`` in its order, each stage once none of the stages it reads is unfinished. Returns
    (stage, seconds) as they finished; a failed stage stops the run (stages running finish first)."""
    plain = OmegaConf.to_container(bench, resolve=True)
    unfinished = {stage.output for stage in todo}
    waiting, running, finished = list(todo), {}, []
    while waiting or running:
        for stage in [s for s in waiting if not unfinished.intersection(s.inputs)][: jobs - len(running)]:
            waiting.remove(stage)
            running[pool.submit(_run_in_worker, plain, stage)] = stage
        if not running:
            raise RuntimeError(f"benchmark stages wait on each other: {[_label(s) for s in waiting]}")
        bar.set_postfix_str(", ".join(_label(s) for s in running.values()))
        done, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in done:
            stage = running.pop(future)
            finished.append((stage, _result(future, running)))
            unfinished.discard(stage.output)
            _finished(bar, stage, finished[-1][1], len(finished))
    return finished


def _finished(bar: tqdm, stage: Stage, spent: float, count: int) -> None:
    """Advance the bar and log the stage as the ``count``-th of the run to finish."""
    bar.update(1)
    logger.info("%s: done in %.0f s (%d of %d)", _label(stage), spent, count, bar.total)


def _result(future: Future, running: dict[Future, Stage]) -> float:
    """The seconds a finished stage took; on its error, cancel what has not started, then raise it."""
    try:
        return future.result()
    except BaseException:
        for other in running:
            other.cancel()
        raise
