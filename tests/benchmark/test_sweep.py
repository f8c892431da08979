"""The planner sweep: budgets turned into each planner's knobs, and a tiny sweep end to end."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from worldplan.benchmark.budgets import budget_overrides
from worldplan.benchmark.grid import all_stages
from worldplan.benchmark.report import write_report
from worldplan.benchmark.runner import run_benchmark
from worldplan.cli import main
from worldplan.config import compose
from worldplan.planners import build_planner

PLANNERS = ("cem", "mppi", "icem", "gd", "cem_gd")


@pytest.mark.parametrize("planner", PLANNERS)
@pytest.mark.parametrize("budget", [80, 320, 640])
def test_a_budget_gives_every_planner_that_many_evaluations(planner: str, budget: int) -> None:
    cfg = compose("config", [f"planner={planner}", *budget_overrides(planner, budget)])
    settings = OmegaConf.to_container(cfg.planner)
    built = build_planner(**settings, action_low=[-1.0, -1.0], action_high=[1.0, 1.0])
    assert built.evaluations_per_plan == pytest.approx(budget, rel=0.1)


def test_unknown_planner_and_tiny_budget_are_refused() -> None:
    with pytest.raises(ValueError, match="no budget rule"):
        budget_overrides("cma_es", 320)
    with pytest.raises(ValueError, match="below"):
        budget_overrides("cem", 10)


def test_tiny_sweep_plans_every_planner_on_the_same_tasks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    grid = compose("config", ["preset=tiny", f"benchmark.out={tmp_path / 'grid'}", "benchmark.planners=[cem]",
                              "benchmark.sizes=[2]", "benchmark.inits=[scratch]", "benchmark.baselines=[]"]).benchmark
    run_benchmark(grid, progress=False)
    sweep = compose("config", ["preset=tiny", "benchmark=planners", f"benchmark.out={tmp_path / 'sweep'}",
                               "benchmark.envs=[wall]", f"benchmark.sweep.source={tmp_path / 'grid'}",
                               "benchmark.sweep.checkpoints=[scratch-n2-s0]", "benchmark.sweep.planners=[cem,gd]",
                               "benchmark.sweep.budgets=[80]",
                               'benchmark.overrides=["preset=tiny","planner.horizon=3"]']
                      ).benchmark
    caplog.clear()  # the grid's run logged its own stages
    with caplog.at_level(logging.INFO, logger="worldplan.benchmark.runner"):
        assert run_benchmark(sweep, progress=False).keys() == {"plan"}
    finished = [r.getMessage() for r in caplog.records if "done in" in r.getMessage()]
    assert len(finished) == 2 and finished[-1].startswith("plan wall gd-b80-scratch-n2-s0: done in")  # a line each
    write_report(tmp_path / "sweep", all_stages(sweep), sweep_reference="cem")
    episodes = [json.loads(line) for line in (tmp_path / "sweep/episodes.jsonl").read_text().splitlines()]
    tasks = {p: [e["task_seed"] for e in episodes if e["planner"] == p] for p in ("cem", "gd")}
    assert tasks["cem"] == tasks["gd"] and {e["budget"] for e in episodes} == {80}
    report = (tmp_path / "sweep/planners.md").read_text()
    assert "vs_cem" in report and (tmp_path / "sweep/planners_vs_evaluations_wall.png").exists()
    (tmp_path / "sweep/planners.md").unlink()
    main(["report", f"path={tmp_path / 'sweep'}"])  # regenerated from the JSONL alone, as from docs/results
    assert (tmp_path / "sweep/planners.md").read_text() == report
