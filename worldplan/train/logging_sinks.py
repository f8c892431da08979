"""Where the trainer's records go: ``log.jsonl`` always, TensorBoard and Weights & Biases on request.

A record is a dict with a ``step`` and either training scalars (``{"step", "loss", "lr", "seconds"}``)
or an evaluation (``{"step", "eval": metrics}``, metrics holding numbers or per-rollout-step lists).
All sinks live in the run directory and are opened by rank 0 with the step training starts from, so
a resumed run hides what an interrupted one logged after that step: ``log.jsonl`` drops those lines,
TensorBoard purges those events (``purge_step``). Scalar tags: ``train/loss``, ``train/lr``,
``train/seconds``, ``eval/<metric>`` and ``eval/<metric>/step_<h>`` for h = 1..H.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from worldplan.atomic import write_text_atomic

__all__ = ["LOG_FILE", "JsonlSink", "RunLog", "Sink", "TensorBoardSink", "WandbSink", "open_run_log", "scalars"]

log = logging.getLogger(__name__)

LOG_FILE = "log.jsonl"


class Sink(Protocol):
    """One destination of the trainer's records."""

    def write(self, record: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


def scalars(record: Mapping[str, Any]) -> dict[str, float]:
    """The record's numbers as ``{tag: value}``; lists become one tag per rollout step (1-based)."""
    if "eval" in record:
        group, values = "eval", {k: v for k, v in record["eval"].items() if k != "step"}
    else:
        group, values = "train", {k: v for k, v in record.items() if k != "step"}
    tags: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, (list, tuple)):
            tags.update({f"{group}/{key}/step_{h}": float(v) for h, v in enumerate(value, start=1)})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            tags[f"{group}/{key}"] = float(value)
    return tags


class JsonlSink:
    """Appends records as JSON lines to ``<run_dir>/log.jsonl``, first dropping lines after ``start``."""

    def __init__(self, run_dir: Path, *, start: int) -> None:
        self.path = Path(run_dir) / LOG_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            lines = self.path.read_text().splitlines()
            write_text_atomic(self.path, "".join(f"{line}\n" for line in lines if json.loads(line)["step"] <= start))

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record."""
        with open(self.path, "a") as handle:
            handle.write(json.dumps(dict(record)) + "\n")

    def close(self) -> None:
        """Nothing to release: every write opens and closes the file."""


def _wait_for_a_new_second(run_dir: Path) -> None:
    """Wait for the next second if an event file of this second is in ``run_dir``. TensorBoard reads event
    files in name order, and a name is ``<seconds>.<host>.<pid>.<writer count>``: two files of one second in
    one process would sort by the count as text (``.10`` before ``.9``), replaying a resumed run's purge
    before the events it purges."""
    now = time.time()
    if any(f".tfevents.{int(now):010d}." in path.name for path in run_dir.glob("events.out.tfevents.*")):
        time.sleep(int(now) + 1.01 - now)


class TensorBoardSink:
    """TensorBoard event files in ``run_dir``; events an earlier run logged after ``start`` are purged."""

    def __init__(self, run_dir: Path, *, start: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        _wait_for_a_new_second(Path(run_dir))
        self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=start + 1)

    def write(self, record: Mapping[str, Any]) -> None:
        """Add the record's scalars at its step."""
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, global_step=int(record["step"]))

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()


class WandbSink:
    """A Weights & Biases run named after the run directory (project and entity from ``WANDB_*``)."""

    def __init__(self, run_dir: Path, *, start: int) -> None:
        try:
            import wandb
        except ImportError as err:
            raise ImportError("train.wandb=true needs the wandb package: pip install wandb "
                              "(then wandb login), or set train.wandb=false") from err
        run_dir = Path(run_dir)
        self.run = wandb.init(dir=str(run_dir), name=run_dir.name, config={"run_dir": str(run_dir), "start": start})

    def write(self, record: Mapping[str, Any]) -> None:
        """Log the record's scalars at its step."""
        self.run.log(scalars(record), step=int(record["step"]))

    def close(self) -> None:
        """Finish the W&B run."""
        self.run.finish()


class RunLog:
    """Writes each record to every sink; a context manager that closes them."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def write(self, record: Mapping[str, Any]) -> None:
        """Send ``record`` to every sink."""
        for sink in self.sinks:
            sink.write(record)

    def close(self) -> None:
        """Close every sink."""
        for sink in self.sinks:
            sink.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_run_log(run_dir: Path, *, start: int, tensorboard: bool, wandb: bool) -> RunLog:
    """The sinks of a run resuming at ``start``: JSONL, TensorBoard if asked and installed, W&B if asked.

    Raises:
        ImportError: ``wandb`` is true but the wandb package is not installed.
    """
    sinks: list[Sink] = [JsonlSink(run_dir, start=start)]
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        log.info("tensorboard is not installed: logging to %s only (pip install tensorboard)", LOG_FILE)
    elif tensorboard:
        sinks.append(TensorBoardSink(run_dir, start=start))
    if wandb:
        sinks.append(WandbSink(run_dir, start=start))
    return RunLog(sinks)
