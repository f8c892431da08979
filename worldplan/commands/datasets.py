"""``worldplan datasets path=<dir>``: validate an episode dataset (files and values), print its summary,
write its preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from worldplan.data.episodes import FORMAT_NAME, FORMAT_VERSION, DatasetMeta, EpisodeDataset
from worldplan.data.video import write_dataset_preview


def _vector(values: np.ndarray | list[float]) -> str:
    return np.array2string(np.asarray(values, np.float64), precision=3, separator=", ", max_line_width=10_000)


def _stats_line(meta: DatasetMeta, key: str) -> str:
    if key not in meta.stats:
        return "          no statistics yet (no episodes)"
    mean, std = meta.normalisation(key)
    return f"          mean {_vector(mean)}, std {_vector(std)}"


def describe(dataset: EpisodeDataset) -> str:
    """A multi-line summary: env, policy, episode lengths, action bounds, normalisation statistics (of the
    proprioception too, when stored)."""
    meta = dataset.meta
    lengths = np.asarray(dataset.lengths or [0])
    lines = [
        f"dataset   {dataset.path}  ({FORMAT_NAME} v{FORMAT_VERSION}, {meta.created_by})",
        f"env       {meta.env_id}  kwargs {meta.env_kwargs}  {meta.image_size} px, {meta.fps:g} fps",
        f"policy    {meta.policy} (noise {meta.noise:g}), base seed {meta.base_seed}, up to {meta.max_steps} steps",
        f"episodes  {len(dataset)}: length min {lengths.min()} / mean {lengths.mean():.1f} / max {lengths.max()},"
        f" {meta.num_frames} frames",
        f"actions   size {meta.action_dim}, low {_vector(meta.action_low)}, high {_vector(meta.action_high)}",
        _stats_line(meta, "action"),
        f"states    size {meta.state_dim}",
        _stats_line(meta, "state"),
    ]
    if meta.proprio_dim:
        lines += [f"proprio   size {meta.proprio_dim}", _stats_line(meta, "proprio")]
    return "\n".join(lines)


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan datasets``: needs ``path=<dataset dir>``."""
    if cfg.get("path") is None:
        raise ValueError("give the dataset directory: worldplan datasets path=<dir>")
    dataset = EpisodeDataset.open(Path(cfg.path))
    dataset.check_values()
    print(describe(dataset))
    preview = write_dataset_preview(dataset, dataset.path / "preview.mp4", episodes=cfg.data.video_episodes)
    if preview is not None:
        print(f"preview   {preview}")
