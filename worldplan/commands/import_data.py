"""``worldplan import``: bring a Minari or LeRobot v3 dataset in as a worldplan episode dataset, or check a
folder of videos for action-free pretraining.

``worldplan import convert.format=minari convert.src=<dataset id> convert.out=<dir>``;
``convert.format=lerobot convert.src=<dataset dir>``; ``convert.format=videos convert.src=<folder>``
(videos are read in place by pretraining: this checks every file and prints how to use the folder).
A state-only Minari dataset is rendered by its recorded env, or by ``cfg.env`` with
``convert.render_env=config``. Prints what could not be carried over, then the new dataset's summary.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from worldplan.byo.lerobot_read import import_lerobot
from worldplan.byo.minari_io import import_minari
from worldplan.commands.datasets import describe
from worldplan.data.episodes import EpisodeDataset
from worldplan.data.videos_folder import VideoFolder

FORMATS = ("minari", "lerobot", "videos")
RENDER_ENVS = ("dataset", "config")


def check_videos(folder: str, size: int) -> list[str]:
    """Open every video of ``folder`` as pretraining will (``VideoFolder``); lines naming each file's fps."""
    videos = VideoFolder(folder, size=size)
    lines = [f"{videos.path}: {len(videos)} videos, read as {size} px square frames"]
    lines += [f"  {entry['name']}: {entry['fps']:g} fps" for entry in (videos.entry(i) for i in range(len(videos)))]
    lines.append(f"use it for action-free pretraining: worldplan pretrain 'train.pretrain.sources=[{videos.path}]'")
    return lines


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan import``."""
    conv = cfg.convert
    if conv.format not in FORMATS:
        raise ValueError(f"convert.format={conv.format!r}: choose one of {', '.join(FORMATS)}")
    if not conv.src:
        raise ValueError("give what to import: convert.src=<Minari dataset id | LeRobot dataset dir | videos folder>")
    if conv.format == "videos":
        print("\n".join(check_videos(str(conv.src), int(conv.image_size or cfg.encoder.image_size))))
        return
    if not conv.out:
        raise ValueError("give the new dataset's directory: convert.out=<dir>")
    if conv.render_env not in RENDER_ENVS:
        raise ValueError(f"convert.render_env={conv.render_env!r}: choose one of {', '.join(RENDER_ENVS)}")
    size = None if conv.image_size is None else int(conv.image_size)
    if conv.format == "minari":
        env = OmegaConf.to_container(cfg.env, resolve=True) if conv.render_env == "config" else None
        report = import_minari(str(conv.src), str(conv.out), image_size=size, render_env=env)
    else:
        report = import_lerobot(str(conv.src), str(conv.out), image_size=size)
    print("\n".join(report.lines()))
    print(describe(EpisodeDataset.open(Path(conv.out))))
