"""Gather a benchmark's evaluations into JSONL, a markdown table and plots.

Each plan stage wrote ``summary.json`` (summary + protocol) and ``episodes.jsonl``; this module
reads them back, tags every episode with its cell (env, planner, model, size, seed) and aggregates
over seeds: mean success and the spread (min..max) across seeds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402

from worldplan.atomic import atomic_path, write_text_atomic  # noqa: E402
from worldplan.benchmark.efficiency import EPISODES_FILE, VALIDATION_FILE, write_efficiency_report  # noqa: E402
from worldplan.benchmark.grid import STAGE_RECORD, Stage  # noqa: E402
from worldplan.benchmark.sweep import write_sweep_report  # noqa: E402
from worldplan.evaluate.metrics import markdown_table  # noqa: E402

TABLE_COLUMNS = ("env", "planner", "model", "size", "seeds", "episodes", "success", "success_min", "success_max",
                 "final_state_distance", "plan_seconds_per_plan", "encoder_weights")


def read_cells(stages: Sequence[Stage]) -> list[dict[str, Any]]:
    """One record per finished plan stage: its cell keys, summary and protocol."""
    cells = []
    for stage in stages:
        if stage.kind == "plan" and stage.done_file.exists():
            saved = json.loads(stage.done_file.read_text())
            cells.append({**stage.cell, "dir": str(stage.done_file.parent), **saved})
    return cells


def write_episodes(path: Path, cells: Sequence[dict[str, Any]]) -> None:
    """Every episode of every cell as one JSON line tagged with its cell, written atomically."""
    with atomic_path(path) as tmp, tmp.open("w") as out:
        for cell in cells:
            keys = {k: cell[k] for k in ("env", "planner", "model", "size", "seed", "budget") if k in cell}
            for line in (Path(cell["dir"]) / "episodes.jsonl").read_text().splitlines():
                episode = json.loads(line)
                episode["task_seed"] = episode.pop("seed")  # the goal task's seed; "seed" is the cell's
                out.write(json.dumps({**keys, **episode}) + "\n")


def aggregate(cells: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows over seeds: (env, planner, model, size) -> mean success, its seed spread and means of the rest."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        groups[(cell["env"], cell["planner"], cell["model"], cell["size"])].append(cell)
    rows = []
    for (env, planner, model, size), members in groups.items():
        rates = [m["summary"]["success_rate"] for m in members]
        rows.append({
            "env": env, "planner": planner, "model": model, "size": size, "seeds": len(members),
            "episodes": sum(m["summary"]["episodes"] for m in members),
            "success": float(np.mean(rates)), "success_min": min(rates), "success_max": max(rates),
            "final_state_distance": float(np.mean([m["summary"]["mean_final_state_distance"] for m in members])),
            "plan_seconds_per_plan": float(np.mean([m["summary"]["plan_seconds_per_plan"] for m in members])),
            "encoder_weights": members[0]["protocol"]["encoder"].get("weights"),
        })
    order = {"pretrained": 0, "scratch": 1, "oracle": 2, "random": 3}
    return sorted(rows, key=lambda r: (r["env"], r["planner"], order.get(r["model"], 9), r["size"] or 0))


def plot_success_vs_time(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Success vs planning seconds per plan, one marker per planner, across every env and model."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for planner in sorted({r["planner"] for r in rows}):
        own = [r for r in rows if r["planner"] == planner]
        ax.scatter([r["plan_seconds_per_plan"] for r in own], [r["success"] for r in own], label=planner, s=18)
    ax.set(xlabel="planning seconds per plan (batched)", ylabel="success rate", ylim=(-0.02, 1.02),
           title="success vs planning time")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def validation_records(stages: Sequence[Stage]) -> list[dict[str, Any]]:
    """One record per finished fine-tuning: its cell, held-out latent errors per rollout step and the precision it
    trained in."""
    records = []
    for stage in stages:
        if stage.kind == "finetune" and stage.done_file.exists():
            saved = json.loads(stage.done_file.read_text())
            metrics = saved["metrics"]
            records.append({"env": stage.env, "init": saved["init"], "size": len(saved["train_episodes"]),
                            "seed": saved["seed"], "step": metrics["step"], "model_mse": metrics["model_mse"],
                            "shuffled_actions_mse": metrics["shuffled_actions_mse"],
                            "copy_last_mse": metrics["copy_last_mse"], "windows": metrics["windows"],
                            "precision": saved.get("precision")})  # what train.amp resolved to (older: None)
    return records


def stage_times(stages: Sequence[Stage]) -> dict[str, dict[str, Any]]:
    """Per stage kind, and per env and kind under ``by_env``: finished stages, how many recorded their seconds
    (older records have none) and the seconds those took, summed over the processes that ran them; under
    ``machines`` each distinct machine the records name (older records name none), as seconds from different
    machines do not add up to one machine's time."""
    times: dict[str, dict[str, Any]] = {}
    by_env: dict[str, dict[str, dict[str, float]]] = {}
    machines: list[dict[str, Any]] = []
    for stage in stages:
        path = stage.output / STAGE_RECORD
        if stage.done_file.exists() and path.exists():
            record = json.loads(path.read_text())
            seconds = record.get("seconds")
            if record.get("machine") and record["machine"] not in machines:
                machines.append(record["machine"])
            for entry in (times.setdefault(stage.kind, _no_time()),
                          by_env.setdefault(stage.env, {}).setdefault(stage.kind, _no_time())):
                entry["stages"] += 1
                if seconds is not None:
                    entry["timed"] += 1
                    entry["seconds"] += seconds
    return {**times, "by_env": by_env, "machines": machines}


def _no_time() -> dict[str, float]:
    return {"stages": 0, "timed": 0, "seconds": 0.0}


def write_report(out: Path, stages: Sequence[Stage], *, sweep_reference: str | None = None) -> list[dict[str, Any]]:
    """Write episodes.jsonl, cells.jsonl, validation.jsonl, results.md, the plots and efficiency.md (a
    planner sweep: planners.md, against ``sweep_reference``) under ``out``; return the table rows."""
    cells = read_cells(stages)
    if not cells:
        raise ValueError(f"no finished evaluations under {out}: run the benchmark first")
    out.mkdir(parents=True, exist_ok=True)
    write_episodes(out / EPISODES_FILE, cells)
    write_text_atomic(out / "cells.jsonl", "".join(json.dumps({k: v for k, v in c.items() if k != "protocol"}) + "\n"
                                             for c in cells))
    write_text_atomic(out / VALIDATION_FILE, "".join(json.dumps(r) + "\n" for r in validation_records(stages)))
    rows = aggregate(cells)
    write_text_atomic(out / "results.md", markdown_table(rows, TABLE_COLUMNS) + "\n")
    write_text_atomic(out / "run_times.json", json.dumps(stage_times(stages), indent=1) + "\n")
    if sweep_reference is None:
        write_efficiency_report(out)
    else:
        write_sweep_report(out, sweep_reference)
    plot_success_vs_time(out / "success_vs_time.png", rows)
    return rows
