"""The data-efficiency report from hand-made per-episode JSONL with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worldplan.benchmark.efficiency import efficiency_factor, size_table, write_efficiency_report


def _episodes(env: str, planner: str, model: str, size: int | None, seed: int, successes: list[bool]) -> list[dict]:
    return [{"env": env, "planner": planner, "model": model, "size": size, "seed": seed, "index": i,
             "task_seed": 1000 * seed + i, "success": s} for i, s in enumerate(successes)]


def _grid() -> list[dict]:
    """Wall, CEM: pretrained at 10 solves 3 of 4 per seed, scratch 1 of 4; at 300 both solve 3 of 4."""
    rows = []
    for seed in (0, 1):
        rows += _episodes("wall", "cem", "pretrained", 10, seed, [True, True, True, False])
        rows += _episodes("wall", "cem", "scratch", 10, seed, [True, False, False, False])
        rows += _episodes("wall", "cem", "pretrained", 300, seed, [True, True, True, False])
        rows += _episodes("wall", "cem", "scratch", 300, seed, [True, True, False, True])
    rows += _episodes("wall", "cem", "oracle", None, 0, [True] * 8)
    rows += _episodes("wall", "random", "random", None, 0, [False] * 14 + [True] * 2)
    return rows


def test_size_table_pairs_the_same_tasks_and_carries_the_bounds() -> None:
    table = size_table(_grid(), "wall")
    small, large = table
    assert (small["size"], small["pretrained"], small["scratch"], small["pairs"]) == (10, 0.75, 0.25, 8)
    assert small["difference"] == pytest.approx(0.5)
    assert small["mcnemar_p"] == pytest.approx(2 * 0.5**4)  # 4 discordant pairs, all pretrained's
    assert (small["oracle"], small["random"]) == (1.0, 0.125)
    assert large["difference"] == 0.0


def test_efficiency_factor_is_the_largest_size_over_the_first_match() -> None:
    factor = efficiency_factor(size_table(_grid(), "wall"), "cem")
    assert (factor["matched_at"], factor["factor"], factor["scratch_at_largest"]) == (10, 30.0, 0.75)


def test_a_match_at_a_small_size_followed_by_a_miss_does_not_count() -> None:
    rows = [r for r in _grid() if r["size"] != 10 or r["model"] != "pretrained"]
    for seed in (0, 1):  # pretrained: 4 of 4 at 3, 1 of 4 at 10, 3 of 4 at 300 (scratch's 0.75 there)
        rows += _episodes("wall", "cem", "pretrained", 3, seed, [True] * 4)
        rows += _episodes("wall", "cem", "scratch", 3, seed, [False] * 4)
        rows += _episodes("wall", "cem", "pretrained", 10, seed, [True, False, False, False])
    factor = efficiency_factor(size_table(rows, "wall"), "cem")
    assert (factor["matched_at"], factor["factor"]) == (300, 1.0)


def test_no_factor_when_scratch_at_the_largest_size_is_not_above_random_actions_beyond_noise(tmp_path: Path) -> None:
    rows = [r for r in _grid() if r["model"] != "random"]
    rows += _episodes("wall", "random", "random", None, 0, [True] * 3 + [False] * 5)  # 0.375 < scratch's 0.75,
    factor = efficiency_factor(size_table(rows, "wall"), "cem")  # but 8 episodes each: the intervals overlap
    assert (factor["scratch_beats_random"], factor["matched_at"], factor["factor"]) == (False, None, None)
    (tmp_path / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert "not above random actions (0.38) beyond noise" in write_efficiency_report(tmp_path)


def test_scratch_clearly_above_random_actions_has_a_factor() -> None:
    rows = []
    for size, scratch in ((10, [True] * 10 + [False] * 40), (300, [True] * 40 + [False] * 10)):
        rows += _episodes("wall", "cem", "pretrained", size, 0, [True] * 45 + [False] * 5)
        rows += _episodes("wall", "cem", "scratch", size, 0, scratch)
    rows += _episodes("wall", "random", "random", None, 0, [True] * 5 + [False] * 45)  # 0.10 vs 0.80 of 50
    factor = efficiency_factor(size_table(rows, "wall"), "cem")
    assert (factor["scratch_beats_random"], factor["matched_at"], factor["factor"]) == (True, 10, 30.0)


def test_the_headline_says_when_no_pretrained_model_has_run_yet(tmp_path: Path) -> None:
    rows = [r for r in _grid() if r["model"] != "pretrained"]
    (tmp_path / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert "succeeds 0.75; no pretrained result yet" in write_efficiency_report(tmp_path)


def test_unpaired_tasks_are_refused() -> None:
    rows = _grid()
    rows[4]["task_seed"] += 1  # scratch episode 0 of seed 0 planned another task
    with pytest.raises(ValueError, match="not paired"):
        size_table(rows, "wall")


def test_report_is_regenerated_from_the_jsonl_alone(tmp_path: Path) -> None:
    (tmp_path / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _grid()))
    validation = [{"env": "wall", "init": init, "size": 10, "seed": 0, "model_mse": [0.1, 0.2],
                   "copy_last_mse": [0.3, 0.4]} for init in ("pretrained", "scratch")]
    (tmp_path / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in validation))
    text = write_efficiency_report(tmp_path)
    assert "wall, cem: scratch at 300 trajectories succeeds 0.75; pretrained matches it at 10 (30x fewer" in text
    assert "copy last frame" in text
    assert (tmp_path / "success_vs_size_wall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileNotFoundError, match="episodes.jsonl"):
        write_efficiency_report(tmp_path / "missing")


def test_while_a_run_misses_a_seed_the_success_columns_use_the_paired_tasks_only() -> None:
    rows = _grid() + _episodes("wall", "cem", "pretrained", 30, 0, [True, False, False, False])
    rows += _episodes("wall", "cem", "scratch", 30, 0, [True, True, False, False])
    rows += _episodes("wall", "cem", "pretrained", 30, 1, [False] * 4)  # its scratch twin has not run yet
    thirty = next(r for r in size_table(rows, "wall") if r["size"] == 30)
    assert (thirty["pretrained"], thirty["scratch"], thirty["pairs"]) == (0.25, 0.5, 4)
    assert thirty["difference"] == pytest.approx(thirty["pretrained"] - thirty["scratch"])


@pytest.mark.parametrize("precisions, expected", [
    (["fp32", "fp32"], "Fine-tunes trained in: fp32 (2)."),
    (["fp32", None], "Fine-tunes trained in: fp32 (1), not recorded (1)."),
    (["fp32", "bf16"], "**Fine-tunes trained in mixed precisions: bf16 (1), fp32 (1)**"),
])
def test_the_report_names_the_training_precisions_and_flags_a_mix(tmp_path: Path, precisions: list, expected: str
                                                                  ) -> None:
    (tmp_path / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _grid()))
    validation = [{"env": "wall", "init": init, "size": 10, "seed": 0, "model_mse": [0.1], "copy_last_mse": [0.3],
                   "precision": precision} for init, precision in zip(("pretrained", "scratch"), precisions)]
    (tmp_path / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in validation))
    assert expected in write_efficiency_report(tmp_path)
