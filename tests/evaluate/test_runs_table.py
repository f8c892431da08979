"""``worldplan report`` over a folder of evaluations: one table, a row per evaluation found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worldplan.cli import main
from worldplan.evaluate.runs_table import evaluations_table, find_evaluations


def _write_eval(folder: Path, *, env: str, model: dict, planner: str, successes: int, episodes: int) -> None:
    folder.mkdir(parents=True)
    summary = {"episodes": episodes, "successes": successes, "success_rate": successes / episodes,
               "success_ci95": [0.1, 0.9], "mean_steps": 30.0, "plan_seconds_per_plan": 1.5,
               "evaluations_per_plan": 320.0}
    protocol = {"env": {"id": f"worldplan/{env}"}, "model": model,
                "planner": {"name": planner, "budget_text": "64x5x5"}}
    (folder / "summary.json").write_text(json.dumps({"summary": summary, "protocol": protocol}))


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    _write_eval(tmp_path / "wall" / "eval" / "cem-scratch", env="Wall-v0", planner="cem", successes=3, episodes=10,
                model={"kind": "checkpoint", "init": "scratch", "train_episodes": 30})
    _write_eval(tmp_path / "wall" / "eval" / "mppi-pretrained", env="Wall-v0", planner="mppi", successes=6,
                episodes=10, model={"kind": "checkpoint", "init": "pretrained", "train_episodes": 30})
    _write_eval(tmp_path / "maze" / "eval" / "oracle", env="PointMaze-v0", planner="cem", successes=9, episodes=10,
                model={"kind": "oracle"})
    (tmp_path / "wall" / "checkpoints").mkdir()
    (tmp_path / "wall" / "checkpoints" / "summary.json").write_text('{"not": "an evaluation"}')
    return tmp_path


def test_every_evaluation_under_the_root_is_one_row_sorted_by_env_model_planner(runs: Path) -> None:
    assert len(find_evaluations(runs)) == 3
    lines = evaluations_table(runs).splitlines()
    assert len(lines) == 2 + 3
    assert "maze/eval/oracle | PointMaze-v0 | oracle | cem 64x5x5 | 10 | 0.9 | [0.10, 0.90]" in lines[2]
    assert "wall/eval/mppi-pretrained | Wall-v0 | pretrained, 30 traj | mppi 64x5x5 | 10 | 0.6" in lines[3]
    assert "wall/eval/cem-scratch | Wall-v0 | scratch, 30 traj | cem 64x5x5 | 10 | 0.3" in lines[4]


def test_report_prints_and_writes_the_table_for_a_folder_without_a_benchmark(runs: Path, capsys) -> None:
    main(["report", f"path={runs}"])
    printed = capsys.readouterr().out
    assert "| wall/eval/cem-scratch |" in printed
    assert (runs / "evaluations.md").read_text().strip() == printed.strip()


def test_report_on_a_folder_without_evaluations_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no evaluation"):
        evaluations_table(tmp_path)
