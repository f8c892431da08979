"""Comparing two runs on the same tasks: hand-made episodes with a known paired difference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from worldplan.benchmark.compare import compare_runs


def _episodes(successes: list[bool], model: str = "pretrained", seed: int = 0, task_seeds=None) -> list[dict]:
    task_seeds = task_seeds or [100 + i for i in range(len(successes))]
    return [{"env": "wall", "planner": "cem", "model": model, "size": 10, "seed": seed, "index": i,
             "task_seed": t, "success": s} for i, (s, t) in enumerate(zip(successes, task_seeds))]


def test_the_difference_is_variant_minus_baseline_over_the_shared_tasks() -> None:
    variant = _episodes([True, True, True, False]) + _episodes([True], model="scratch")
    baseline = _episodes([True, False, False, False, True])  # its fifth task has no partner in the variant
    rows = compare_runs(variant, baseline, models=["pretrained"])
    assert len(rows) == 1
    row = rows[0]
    assert (row["pairs"], row["variant"], row["baseline"], row["difference"]) == (4, 0.75, 0.25, 0.5)
    assert row["mcnemar_p"] == pytest.approx(0.5)  # 2 discordant pairs, both for the variant: 2 x 0.5^2
    assert row["ci95"][0] <= 0.5 <= row["ci95"][1]


def test_runs_that_planned_other_tasks_are_refused() -> None:
    with pytest.raises(ValueError, match="planned different tasks"):
        compare_runs(_episodes([True, False]), _episodes([True, False], task_seeds=[100, 999]))


def test_the_command_prints_and_writes_the_table(tmp_path: Path) -> None:
    for name, successes in (("variant", [True, True]), ("baseline", [False, True])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in _episodes(successes)))
    out = tmp_path / "compare.md"
    done = subprocess.run([sys.executable, "-m", "worldplan.benchmark.compare", str(tmp_path / "variant"),
                           str(tmp_path / "baseline"), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "| wall | cem | pretrained | 10 |" in done.stdout and out.read_text().strip() == done.stdout.strip()
    missing = subprocess.run([sys.executable, "-m", "worldplan.benchmark.compare", str(tmp_path), str(tmp_path)],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "has no episodes.jsonl" in missing.stderr
