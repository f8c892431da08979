"""Training logs: log.jsonl and TensorBoard event files hold the same losses and validation errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from worldplan.train.finetune import finetune
from worldplan.train.logging_sinks import TensorBoardSink, open_run_log, scalars

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def read_events(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of the event files in ``run_dir``, as TensorBoard shows them."""
    events = event_accumulator.EventAccumulator(str(run_dir), size_guidance={event_accumulator.SCALARS: 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def read_scalars(run_dir: Path) -> dict[str, dict[int, float]]:
    """``{tag: {step: value}}`` of the event files in ``run_dir``."""
    return {tag: dict(points) for tag, points in read_events(run_dir).items()}


def test_finetune_writes_losses_and_validation_errors_per_rollout_step_to_tensorboard(
    tiny_cfg: Callable, workdir: Path
) -> None:
    finetune(tiny_cfg("train.init=scratch", "train.eval_every=3", "train.window.eval_horizon=2"))
    run_dir = workdir / "train" / "finetune-scratch"
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    tags = read_scalars(run_dir)
    losses = {r["step"]: r["loss"] for r in records if "loss" in r}
    assert sorted(losses) == [2, 4, 6]
    assert tags["train/loss"] == pytest.approx(losses) and set(tags["train/lr"]) == {2, 4, 6}
    evals = {r["step"]: r["eval"] for r in records if "eval" in r}
    assert sorted(evals) == [0, 3, 6]
    for h in (1, 2):
        assert tags[f"eval/model_mse/step_{h}"] == pytest.approx({s: m["model_mse"][h - 1] for s, m in evals.items()})
        assert set(tags[f"eval/copy_last_mse/step_{h}"]) == {0, 3, 6}


def test_a_resumed_run_hides_the_events_logged_after_its_start(tmp_path: Path) -> None:
    first = TensorBoardSink(tmp_path, start=0)
    for step in (1, 2, 3, 4):
        first.write({"step": step, "loss": 1.0})
    first.close()
    resumed = TensorBoardSink(tmp_path, start=2)
    for step in (3, 4):
        resumed.write({"step": step, "loss": 2.0})
    resumed.close()
    assert read_events(tmp_path)["train/loss"] == [(1, 1.0), (2, 1.0), (3, 2.0), (4, 2.0)]


def test_tensorboard_off_writes_only_the_jsonl(tmp_path: Path) -> None:
    with open_run_log(tmp_path, start=0, tensorboard=False, wandb=False) as run_log:
        run_log.write({"step": 1, "loss": 0.5, "lr": 1e-3})
    assert [p.name for p in tmp_path.iterdir()] == ["log.jsonl"]


def test_wandb_without_the_package_says_how_to_install_or_turn_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(ImportError, match=r"pip install wandb.*train\.wandb=false"):
        open_run_log(tmp_path, start=0, tensorboard=False, wandb=True)


def test_scalars_flatten_per_step_lists_and_skip_non_numbers() -> None:
    record = {"step": 5, "eval": {"step": 5, "model_mse": [0.1, 0.2], "windows": 8, "note": "x"}}
    assert scalars(record) == {"eval/model_mse/step_1": 0.1, "eval/model_mse/step_2": 0.2, "eval/windows": 8.0}


def test_a_resumed_run_hides_later_events_even_when_the_writer_count_turns_9_to_10(tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    for index in range(1000):  # event files end in the process's writer count: stop before 9 -> 10 (or 99 -> 100)
        probe = tmp_path / "probe" / str(index)
        SummaryWriter(log_dir=str(probe)).close()
        if int(next(probe.iterdir()).name.rsplit(".", 1)[1]) + 2 in (10, 100, 1000):
            break
    test_a_resumed_run_hides_the_events_logged_after_its_start(tmp_path / "run")  # files ...9 and ...10
