"""Report outputs: per-episode videos named by outcome, and the cost-per-iteration plot."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from worldplan.evaluate.episode import EpisodeResult
from worldplan.evaluate.report import plot_cost_traces, video_name, write_episode_videos


def _result(index: int, success: bool, cost_traces: list[list[float]]) -> EpisodeResult:
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(3)[:, None, None] * 60
    return EpisodeResult(
        index=index, seed=7 + index, success=success, steps=2, final_state_distance=0.0, final_latent_distance=0.0,
        plan_seconds=[0.1] * len(cost_traces), cost_traces=cost_traces, evaluations=0, frames=frames,
        goal_image=np.full((8, 8, 3), 255, np.uint8),
    )


def test_video_name_says_index_seed_and_outcome():
    assert video_name(_result(3, True, [])) == "ep3_seed10_success.mp4"
    assert video_name(_result(0, False, [])) == "ep0_seed7_fail.mp4"


def test_videos_are_written_for_the_first_episodes_with_the_protocol(tmp_path):
    results = [_result(0, True, []), _result(1, False, []), _result(2, False, [])]
    paths = write_episode_videos(tmp_path, results, count=2, fps=10, metadata={"env_id": "x"})
    assert sorted(p.name for p in paths) == ["ep0_seed7_success.mp4", "ep1_seed8_fail.mp4"]
    sidecar = json.loads((tmp_path / "ep1_seed8_fail.mp4.json").read_text())
    assert sidecar["env_id"] == "x" and sidecar["episode"]["seed"] == 8 and sidecar["frames"] == 3
    assert sidecar["source_size"] == [8, 16]  # observation | goal


def test_a_video_of_an_episode_without_frames_is_refused(tmp_path):
    without = dataclasses.replace(_result(0, True, []), frames=None)
    with pytest.raises(ValueError, match="episode 0 kept no frames"):
        write_episode_videos(tmp_path, [without], count=1, fps=10, metadata={})


def test_cost_plot_is_written_when_traces_exist(tmp_path):
    path = plot_cost_traces(tmp_path / "cost.png", [_result(0, True, [[3.0, 2.0, 1.0]])], title="cem")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)  # (height, width, RGBA) floats in [0, 1]
    assert image.shape == (420, 600, 4)  # figsize (5, 3.5) at 120 dpi
    blue = np.array(to_rgb("tab:blue"))
    assert (np.abs(image[..., :3] - blue).max(axis=-1) < 0.05).sum() > 100  # the traces are drawn


def test_cost_plot_is_skipped_without_traces(tmp_path):
    assert plot_cost_traces(tmp_path / "cost.png", [_result(0, True, [[]])], title="random") is None
    assert not (tmp_path / "cost.png").exists()
