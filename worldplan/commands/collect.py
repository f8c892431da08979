"""``worldplan collect``: collect ``cfg.data`` episodes from ``cfg.env`` and write a preview video.

Reads ``cfg.env`` (any env ``worldplan.byo.resolve_env`` accepts), ``cfg.data.{out, episodes, steps, policy, noise,
video_episodes}`` and ``cfg.seed``; writes the dataset, ``<out>/preview.mp4`` and ``<out>/config.yaml``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from worldplan.byo import resolve_env
from worldplan.config import save_config
from worldplan.data.collect import collect
from worldplan.data.episodes import META_FILE, EpisodeDataset, read_meta
from worldplan.data.video import write_dataset_preview


@dataclass(frozen=True)
class CollectResult:
    """What one ``collect_from_config`` call produced."""

    dataset: EpisodeDataset
    preview: Path | None
    new_episodes: int
    new_frames: int
    seconds: float


def collect_from_config(cfg: DictConfig, *, progress: bool = True) -> CollectResult:
    """Collect (or resume) the dataset ``cfg`` describes, save the config beside it, write its preview."""
    data = cfg.data
    out = Path(data.out)
    existing = read_meta(out) if (out / META_FILE).exists() else None
    episodes_before = len(existing.episodes) if existing else 0
    frames_before = existing.num_frames if existing else 0
    start = time.perf_counter()
    dataset = collect(*resolve_env(cfg.env), out,
                      episodes=data.episodes, steps=data.steps, policy=data.policy, seed=cfg.seed,
                      noise=data.noise, progress=progress)
    seconds = time.perf_counter() - start
    save_config(cfg, out)
    preview = write_dataset_preview(dataset, out / "preview.mp4", episodes=data.video_episodes)
    return CollectResult(dataset=dataset, preview=preview, new_episodes=len(dataset) - episodes_before,
                         new_frames=dataset.meta.num_frames - frames_before, seconds=seconds)


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
