"""The benchmark grid end to end on tiny settings, its resume, and its stage list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import DictConfig

from worldplan.benchmark.grid import all_stages
from worldplan.benchmark.report import write_report
from worldplan.benchmark.runner import run_benchmark
from worldplan.config import compose


def _bench(out: Path, *overrides: str) -> DictConfig:
    return compose("config", ["preset=tiny", f"benchmark.out={out}", *overrides]).benchmark


def test_stage_list_covers_the_grid(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]", "benchmark.baselines=[oracle,random]",
                   "benchmark.oracle_planners=null", "benchmark.oracle_envs=null")
    kinds = [s.kind for s in all_stages(bench)]
    envs, planners, inits, sizes, seeds = 2, 2, 2, 2, 1
    assert kinds.count("collect") == 2 * envs
    assert kinds.count("pretrain") == envs
    assert kinds.count("finetune") == envs * inits * sizes * seeds
    assert kinds.count("plan") == envs * (planners * inits * sizes * seeds + planners + 1)
    assert kinds == sorted(kinds, key=["collect", "pretrain", "finetune", "plan"].index)


def test_oracle_runs_only_where_asked(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.envs=[wall,pointmaze]", "benchmark.baselines=[oracle]",
                   "benchmark.oracle_envs=[wall]", "benchmark.oracle_planners=[mppi]", "benchmark.baseline_episodes=3")
    oracles = [s for s in all_stages(bench) if s.cell.get("model") == "oracle"]
    assert [(s.env, s.cell["planner"]) for s in oracles] == [("wall", "mppi")]
    assert "eval.episodes=3" in oracles[0].overrides


def test_pretraining_corpus_is_disjoint_from_finetuning_data(tmp_path: Path) -> None:
    bench = _bench(tmp_path)
    train, corpus = [s for s in all_stages(bench) if s.kind == "collect"]
    assert "seed=0" in train.overrides and f"seed={bench.corpus_seed_offset}" in corpus.overrides


def test_unknown_baseline_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="baselines"):
        all_stages(_bench(tmp_path, "benchmark.baselines=[oracel]"))


def test_tiny_grid_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "benchmark.planners=[cem]", "benchmark.sizes=[2]")
    spent = run_benchmark(bench, progress=False)
    assert set(spent) == {"collect", "pretrain", "finetune", "plan"}
    rows = write_report(tmp_path, all_stages(bench))
    models = {(r["planner"], r["model"]) for r in rows}
    assert models == {("cem", "pretrained"), ("cem", "scratch"), ("random", "random")}
    episodes = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 3 * 2 and {e["model"] for e in episodes} == {"pretrained", "scratch", "random"}
    assert (tmp_path / "results.md").read_text().count("\n") == 2 + len(rows)
    assert (tmp_path / "success_vs_size_wall.png").stat().st_size > 0
    assert run_benchmark(bench, progress=False) == {}  # everything finished: nothing re-runs
    changed = _bench(tmp_path, "benchmark.planners=[cem]", "benchmark.sizes=[2]", "benchmark.corpus_seed_offset=5")
    with pytest.raises(ValueError, match="other settings"):
        run_benchmark(changed, progress=False)
