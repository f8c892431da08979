"""Metrics: Wilson interval, summary numbers, JSONL / summary files, markdown tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from worldplan.evaluate.episode import EpisodeResult
from worldplan.evaluate.metrics import (
    markdown_table,
    summarize,
    wilson_interval,
    write_episodes_jsonl,
    write_summary,
)


def _result(index: int, success: bool, steps: int, plan_seconds: list[float], evaluations: int) -> EpisodeResult:
    return EpisodeResult(
        index=index, seed=100 + index, success=success, steps=steps, final_state_distance=float(index),
        final_latent_distance=2.0 * index, plan_seconds=plan_seconds, cost_traces=[[3.0, 1.0]] * len(plan_seconds),
        evaluations=evaluations, frames=np.zeros((steps + 1, 4, 4, 3), np.uint8),
        goal_image=np.zeros((4, 4, 3), np.uint8),
    )


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [(0, 10, (0.0, 0.27753)), (5, 10, (0.23659, 0.76341)), (10, 10, (0.72247, 1.0))],
)
def test_wilson_interval_matches_known_values(successes, trials, expected):
    assert wilson_interval(successes, trials) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(("successes", "bound", "exact"), [(0, 0, 0.0), (6, 1, 1.0)])
def test_wilson_interval_bound_is_exact_at_none_and_all(successes, bound, exact):
    assert wilson_interval(successes, 6)[bound] == exact


def test_wilson_interval_narrows_with_more_trials():
    low_small, high_small = wilson_interval(5, 10)
    low_large, high_large = wilson_interval(50, 100)
    assert low_small < low_large < 0.5 < high_large < high_small


def test_wilson_interval_rejects_impossible_counts():
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


def test_summary_aggregates_episodes():
    results = [_result(0, True, 4, [1.0, 3.0], 20), _result(1, False, 6, [2.0], 10)]
    summary = summarize(results)
    assert summary["success_rate"] == 0.5
    assert summary["success_ci95"] == pytest.approx(list(wilson_interval(1, 2)))
    assert summary["mean_final_state_distance"] == pytest.approx(0.5)
    assert summary["mean_final_latent_distance"] == pytest.approx(1.0)
    assert summary["plan_seconds_per_plan"] == pytest.approx(2.0)
    assert summary["plan_seconds_per_env_step"] == pytest.approx(6.0 / 10)
    assert summary["evaluations_per_plan"] == pytest.approx(10.0)
    assert summary["mean_steps"] == pytest.approx(5.0)


def test_episodes_jsonl_has_one_line_per_episode_without_images(tmp_path):
    results = [_result(0, True, 4, [1.0], 5), _result(1, False, 2, [], 0)]
    path = write_episodes_jsonl(tmp_path / "episodes.jsonl", results)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["index"], r["seed"], r["success"]) for r in records] == [(0, 100, True), (1, 101, False)]
    assert "frames" not in records[0] and records[0]["cost_traces"] == [[3.0, 1.0]]


def test_summary_file_holds_summary_and_protocol(tmp_path):
    protocol = {"env": {"id": "worldplan/Wall-v0"}, "episode_seeds": [1, 2]}
    path = write_summary(tmp_path / "summary.json", {"success_rate": 0.5}, protocol)
    assert json.loads(path.read_text()) == {"summary": {"success_rate": 0.5}, "protocol": protocol}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_markdown_table_formats_rows():
    table = markdown_table(
        [{"planner": "cem|x", "success": 0.123456, "ci": [0.1, 0.25]}, {"planner": "mppi"}],
        ["planner", "success", "ci"],
    )
    assert table.splitlines() == [
        "| planner | success | ci |",
        "|---|---|---|",
        "| cem\\|x | 0.123 | [0.1, 0.25] |",
        "| mppi |  |  |",
    ]


def test_unknown_goal_state_distances_are_skipped_and_recorded_as_null(tmp_path):
    unknown = _result(1, False, 2, [1.0], 5)
    unknown = EpisodeResult(**{**unknown.__dict__, "final_state_distance": float("nan")})
    summary = summarize([_result(0, True, 4, [1.0], 5), unknown])
    assert summary["mean_final_state_distance"] == 0.0
    assert summarize([unknown])["mean_final_state_distance"] is None
    path = write_episodes_jsonl(tmp_path / "episodes.jsonl", [unknown])
    assert json.loads(path.read_text())["final_state_distance"] is None
