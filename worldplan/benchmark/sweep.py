"""The planner sweep's report: success against world-model evaluations and against planning time.

``benchmark.sweep`` (``configs/benchmark/planners.yaml``; stages in ``grid.sweep_stages``) plans every
planner at several budgets (``budgets.budget_overrides``) on the same checkpoints and task seeds, so
planners compare paired: each row carries its difference to a reference planner at the same budget.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from worldplan.atomic import write_text_atomic  # noqa: E402
from worldplan.benchmark.efficiency import read_jsonl  # noqa: E402
from worldplan.benchmark.paired import paired_difference  # noqa: E402
from worldplan.evaluate.metrics import markdown_table  # noqa: E402


def _rows(episodes: Sequence[dict], cells: Sequence[dict], reference: str) -> list[dict[str, Any]]:
    """Per (env, model, planner, budget): success, spent evaluations and seconds per plan, paired difference."""
    outcomes: dict[tuple, dict[tuple, bool]] = defaultdict(dict)
    for e in episodes:
        outcomes[(e["env"], e["model"], e["planner"], e["budget"])][(e["seed"], e["index"])] = bool(e["success"])
    rows = []
    for cell in cells:
        key = (cell["env"], cell["model"], cell["planner"], cell["budget"])
        own, ref = outcomes[key], outcomes.get((*key[:2], reference, key[3]), {})
        pairs = sorted(set(own) & set(ref))
        row = {"env": key[0], "model": key[1], "planner": key[2], "budget": key[3], "episodes": len(own),
               "success": float(np.mean(list(own.values()))),
               "evaluations_per_plan": cell["summary"]["evaluations_per_plan"],
               "seconds_per_plan": cell["summary"]["plan_seconds_per_plan"]}
        if pairs and key[2] != reference:
            paired = paired_difference([own[p] for p in pairs], [ref[p] for p in pairs])
            row.update({f"vs_{reference}": paired["difference"], "ci95": paired["ci95"]})
        rows.append(row)
    return sorted(rows, key=lambda r: (r["env"], r["model"], r["planner"], r["budget"]))


def _plot(path: Path, rows: Sequence[dict], env: str, x: str, label: str) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for planner in sorted({r["planner"] for r in rows if r["env"] == env}):
        line = sorted((r for r in rows if (r["env"], r["planner"]) == (env, planner)), key=lambda r: r[x])
        ax.plot([r[x] for r in line], [r["success"] for r in line], marker="o", label=planner)
    ax.set(xscale="log", xlabel=label, ylabel="success rate", ylim=(-0.02, 1.02), title=f"{env}: planners")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_sweep_report(out: Path, reference: str) -> str:
    """``planners.md`` and plots (success vs evaluations, vs seconds per plan) from ``out``'s JSONL files."""
    rows = _rows(read_jsonl(out / "episodes.jsonl"), read_jsonl(out / "cells.jsonl"), reference)
    for env in sorted({r["env"] for r in rows}):
        _plot(out / f"planners_vs_evaluations_{env}.png", rows, env, "evaluations_per_plan",
              "sequence evaluations per plan")
        _plot(out / f"planners_vs_seconds_{env}.png", rows, env, "seconds_per_plan", "seconds per plan (batched)")
    text = "\n".join(["# Planners at equal world-model compute", "",
                      f"Paired difference in success against {reference} at the same budget, on the same tasks "
                      "(bootstrap 95 % interval).", "",
                      markdown_table(rows, ["env", "model", "planner", "budget", "episodes", "success",
                                            "evaluations_per_plan", "seconds_per_plan", f"vs_{reference}", "ci95"],
                                     float_format=".3g"), ""])
    write_text_atomic(out / "planners.md", text)
    return text
