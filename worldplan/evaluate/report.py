"""Evaluation outputs beside the metrics: one video per episode and a plot of the planner's cost.

Videos show observation | goal side by side, or, given an imagined source, observed | imagined | goal
under title bars (``worldplan.evaluate.imagined``); they are named ``ep<index>_seed<seed>_success.mp4`` or
``..._fail.mp4``; the plot shows the best cost after each planner iteration (matplotlib, Agg canvas,
no global pyplot state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from worldplan.atomic import atomic_path
from worldplan.data.video import side_by_side, titled_panels, write_video
from worldplan.evaluate.episode import EpisodeResult
from worldplan.evaluate.imagined import ImaginedSource, imagined_video


def video_name(result: EpisodeResult) -> str:
    """``ep<index>_seed<seed>_success.mp4`` or ``ep<index>_seed<seed>_fail.mp4``."""
    outcome = "success" if result.success else "fail"
    return f"ep{result.index}_seed{result.seed}_{outcome}.mp4"


def write_episode_videos(
    out_dir: str | Path,
    results: Sequence[EpisodeResult],
    *,
    count: int,
    fps: float,
    metadata: Mapping[str, Any],
    imagined: ImaginedSource | None = None,
) -> list[Path]:
    """Write observation | goal videos of the first ``count`` episodes (observed | imagined | goal with
    ``imagined``, for the episodes that recorded their plans' predictions).

    Args:
        out_dir: directory of the videos (created).
        results: episodes; the first ``count`` have frames (L + 1, S, S, 3), all a goal_image (S, S, 3).
        count: how many episodes get a video (0: none).
        fps: playback rate, usually the env's control rate.
        metadata: JSON values for each video's sidecar (the evaluation protocol); the episode's own
            index, seed, success and steps are added, and the imagined panel's source.
        imagined: how the plans' predicted latents become frames; None: no imagined panel.

    Returns:
        The written video paths.

    Raises:
        ValueError: one of the first ``count`` episodes kept no frames.
    """
    paths = []
    for result in results[: max(count, 0)]:
        if result.frames is None:
            raise ValueError(f"episode {result.index} kept no frames for its video: run it with its frames kept "
                             f"(evaluate_episodes(video_episodes={count}))")
        episode = {"index": result.index, "seed": result.seed, "success": result.success, "steps": result.steps}
        extra: dict[str, Any] = {"episode": episode}
        if imagined is not None and result.imagined is not None:
            frames = titled_panels([result.frames, imagined_video(result, imagined), result.goal_image],
                                   ["observed", imagined.title, "goal"])  # (L + 1, TITLE_BAR + S, 3S, 3)
            extra["imagined"] = {**imagined.record, "panel": imagined.title, "shows": "each plan's last predicted step"}
        else:
            frames = side_by_side(result.frames, result.goal_image)  # (L + 1, S, 2S, 3)
        paths.append(write_video(Path(out_dir) / video_name(result), frames, fps, metadata={**metadata, **extra}))
    return paths


def plot_cost_traces(path: str | Path, results: Sequence[EpisodeResult], *, title: str) -> Path | None:
    """Plot the best cost per planner iteration: each episode's mean over its plans, and the overall mean.

    Args:
        path: the ``.png`` to write (replaced atomically).
        results: episodes whose ``cost_traces`` are lists of per-iteration best costs.
        title: the figure title (e.g. the planner and its budget).

    Returns:
        ``path``, or None when no plan recorded a trace (e.g. the random planner).
    """
    per_episode = [np.mean(r.cost_traces, axis=0) for r in results if r.cost_traces and r.cost_traces[0]]
    if not per_episode:
        return None
    figure = Figure(figsize=(5, 3.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    iterations = np.arange(1, len(per_episode[0]) + 1)
    for trace in per_episode:
        axes.plot(iterations, trace, color="tab:blue", alpha=0.25, linewidth=0.8)
    axes.plot(iterations, np.mean(per_episode, axis=0), color="tab:blue", linewidth=2.0, label="mean over episodes")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="planner iteration", ylabel="best latent cost (mean over plans)", title=title)
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path
