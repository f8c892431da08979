"""Evaluation metrics: success rate with a Wilson interval, distances, planning cost; files and tables.

``summarize`` turns episode results into one flat dict of numbers; ``write_episodes_jsonl`` and
``write_summary`` save them atomically; ``markdown_table`` renders rows of such dicts (shared with
the benchmark code).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from worldplan.atomic import write_json_atomic, write_text_atomic
from worldplan.evaluate.episode import EpisodeResult

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % by default).

    Args:
        successes: successful trials, 0 <= successes <= trials.
        trials: number of trials, >= 1.
        z: normal quantile of the interval.

    Returns:
        (low, high) within [0, 1]; exactly 0 for no successes and 1 for all (where rounding of
        ``centre - half`` would leave ~1e-17).
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes} of {trials}")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def _mean_finite(values: Sequence[float]) -> float | None:
    """Mean of the finite values (unknown goal states give NaN distances); None if there are none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def summarize(results: Sequence[EpisodeResult]) -> dict[str, Any]:
    """Aggregate episodes into the numbers reported for one evaluation.

    Planning seconds are wall time seen by an episode: each plan is one batched call for all the
    episodes still running, so they are latencies, not compute per episode. Mean distances skip
    non-finite values (no goal state) and are None when no episode has one.

    Returns:
        episodes, successes, success_rate, success_ci95 [low, high], mean_steps,
        mean_final_state_distance, mean_final_latent_distance, plans, plan_seconds_per_plan,
        plan_seconds_per_env_step, evaluations_per_plan, evaluations_per_episode.
    """
    if not results:
        raise ValueError("summarize needs at least one episode result")
    successes = sum(r.success for r in results)
    plan_seconds = [s for r in results for s in r.plan_seconds]
    steps = sum(r.steps for r in results)
    evaluations = sum(r.evaluations for r in results)
    low, high = wilson_interval(successes, len(results))
    return {
        "episodes": len(results),
        "successes": successes,
        "success_rate": successes / len(results),
        "success_ci95": [low, high],
        "mean_steps": steps / len(results),
        "mean_final_state_distance": _mean_finite([r.final_state_distance for r in results]),
        "mean_final_latent_distance": _mean_finite([r.final_latent_distance for r in results]),
        "plans": len(plan_seconds),
        "plan_seconds_per_plan": float(np.mean(plan_seconds)) if plan_seconds else 0.0,
        "plan_seconds_per_env_step": sum(plan_seconds) / steps if steps else 0.0,
        "evaluations_per_plan": evaluations / len(plan_seconds) if plan_seconds else 0.0,
        "evaluations_per_episode": evaluations / len(results),
    }


def write_episodes_jsonl(path: str | Path, results: Sequence[EpisodeResult]) -> Path:
    """Write one JSON line per episode (``EpisodeResult.to_record``), atomically."""
    path = Path(path)
    write_text_atomic(path, "".join(json.dumps(r.to_record()) + "\n" for r in results))
    return path


def write_summary(path: str | Path, summary: Mapping[str, Any], protocol: Mapping[str, Any]) -> Path:
    """Write ``{"summary": ..., "protocol": ...}`` as JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"summary": dict(summary), "protocol": dict(protocol)})
    return path


def _cell(value: Any, float_format: str) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return format(value, float_format)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_cell(v, float_format) for v in value) + "]"
    return str(value).replace("|", "\\|")


def markdown_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *, float_format: str = ".3g"
) -> str:
    """A GitHub markdown table of ``rows``.

    Args:
        rows: one mapping per row; a missing key gives an empty cell.
        columns: the keys to show, in order (default: the first row's keys).
        float_format: ``format`` spec for floats (also inside lists).

    Returns:
        The table, one line per row after the header and separator.
    """
    if not rows:
        raise ValueError("markdown_table needs at least one row")
    columns = list(columns if columns is not None else rows[0].keys())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c], float_format) if c in row else "" for c in columns) + " |")
    return "\n".join(lines)
