"""``worldplan collect``: collect ``cfg.data`` episodes from ``cfg.env`` and write a preview video.

Reads ``cfg.env`` (any env ``worldplan.byo.resolve_env`` accepts), ``cfg.data.{out, episodes, steps, policy, noise,
video_episodes}`` and ``cfg.seed``; writes the dataset, ``<out>/preview.mp4`` and ``<out>/config.yaml``.
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.data.collect import CollectResult, collect_from_config


def summary_line(result: CollectResult) -> str:
    """One line: episodes and frames (new / total), seconds, frames per second, where."""
    ds = result.dataset
    rate = result.new_frames / result.seconds if result.seconds > 0 else 0.0
    return (f"collected {result.new_episodes} episodes ({result.new_frames} frames) in {result.seconds:.1f} s, "
            f"{rate:.0f} frames/s; {ds.path} holds {len(ds)} episodes, {ds.meta.num_frames} frames")


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan collect``."""
    result = collect_from_config(cfg)
    print(summary_line(result))
    if result.preview is not None:
        print(f"preview: {result.preview}")
