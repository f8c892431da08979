"""One table across evaluation runs: every ``summary.json`` under a folder, a row each.

Each ``worldplan plan`` writes its own one-row summary (``${workdir}/eval/<name>/summary.json``, see
``worldplan.evaluate.plan``); researchers compare many of them (checkpoints, planners, budgets, envs).
``evaluations_table`` finds them all under a root (a workdir, ``runs/``, a benchmark's output) and
gives one markdown table, sorted by env, model and planner, that ``worldplan report`` prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from worldplan.evaluate.metrics import markdown_table

SUMMARY_FILE = "summary.json"
COLUMNS = ("evaluation", "env", "model", "planner", "episodes", "success", "ci95", "mean_steps",
           "s_per_plan", "evals_per_plan")


def find_evaluations(root: Path) -> list[Path]:
    """The evaluation folders under ``root`` (those whose ``summary.json`` has a summary and a protocol)."""
    found = []
    for path in sorted(Path(root).rglob(SUMMARY_FILE)):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and {"summary", "protocol"} <= data.keys():
            found.append(path.parent)
    return found


def _model_name(model: Mapping[str, Any]) -> str:
    """``pretrained, 30 traj`` for a checkpoint, else the model's kind (``oracle``, ``random``)."""
    if model.get("kind") != "checkpoint":
        return str(model.get("kind", "?"))
    init, episodes = model.get("init"), model.get("train_episodes")
    details = [str(init)] if init else []
    if episodes is not None:
        details.append(f"{episodes} traj")
    return ", ".join(details) or Path(str(model.get("checkpoint", "?"))).name


def evaluation_row(folder: Path, root: Path) -> dict[str, Any]:
    """One table row from ``folder/summary.json``; ``evaluation`` is the folder relative to ``root``."""
    data = json.loads((folder / SUMMARY_FILE).read_text())
    summary, protocol = data["summary"], data["protocol"]
    planner = protocol.get("planner", {})
    low, high = summary["success_ci95"]
    model = protocol.get("model", {})
    env = str(protocol.get("env", {}).get("id", "?")).split("/")[-1]
    return {
        "evaluation": str(folder.relative_to(root)) if folder != root else folder.name,
        "env": env,
        "model": _model_name(model),
        "planner": f"{planner.get('name', '?')} {planner.get('budget_text', '')}".strip(),
        "episodes": summary["episodes"],
        "success": summary["success_rate"],
        "ci95": f"[{low:.2f}, {high:.2f}]",
        "mean_steps": summary.get("mean_steps"),
        "s_per_plan": summary.get("plan_seconds_per_plan"),
        "evals_per_plan": summary.get("evaluations_per_plan"),
        "order": (env, str(model.get("init") or model.get("kind")), model.get("train_episodes") or 0,
                  str(planner.get("name")), folder.name),  # not shown: sizes sort as numbers
    }


def evaluations_table(root: Path) -> str:
    """The markdown table of every evaluation under ``root``, by env, init, data size, planner, folder.

    Raises:
        FileNotFoundError: ``root`` holds no evaluation.
    """
    root = Path(root)
    folders = find_evaluations(root)
    if not folders:
        raise FileNotFoundError(f"no evaluation (eval/<name>/{SUMMARY_FILE}) under {root}: point path= at a "
                                "workdir, runs/ or a benchmark's output")
    rows = sorted((evaluation_row(folder, root) for folder in folders), key=lambda row: row["order"])
    return markdown_table(rows, COLUMNS, float_format=".3g")
