"""Fixtures for training tests: tiny synthetic episode datasets and the tiny composed config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from omegaconf import DictConfig

from worldplan.config import compose
from worldplan.data.episodes import DatasetMeta, Episode, EpisodeWriter

S, LENGTH, A_ENV = 28, 30, 2


def write_dataset(path: Path, *, episodes: int, seed: int) -> None:
    """A dot moving by its actions on a grey 28-px canvas: T = 30 steps, A_env = 2, fps 10."""
    meta = DatasetMeta(env_id="test/Dot-v0", env_kwargs={}, image_size=S, action_low=[-1.0, -1.0],
                       action_high=[1.0, 1.0], state_dim=2, fps=10.0, policy="random", noise=0.0,
                       max_steps=LENGTH, base_seed=seed)
    writer = EpisodeWriter(path, meta)
    for index in range(episodes):
        rng = np.random.default_rng([seed, index])
        actions = rng.uniform(-1, 1, (LENGTH, A_ENV)).astype(np.float32)
        states = np.clip(np.cumsum(np.vstack([rng.uniform(8, 20, (1, 2)), actions]), 0), 2, S - 3).astype(np.float32)
        frames = np.full((LENGTH + 1, S, S, 3), 60, np.uint8)
        for t, (x, y) in enumerate(states.astype(int)):
            frames[t, y - 2 : y + 2, x - 2 : x + 2] = 230
        writer.add(Episode(frames=frames, actions=actions, states=states, seed=index))


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    """A workdir with data/train (8 episodes) and data/pretrain (6 episodes, other seeds)."""
    write_dataset(tmp_path / "data" / "train", episodes=8, seed=0)
    write_dataset(tmp_path / "data" / "pretrain", episodes=6, seed=1)
    return tmp_path


@pytest.fixture()
def tiny_cfg(workdir: Path) -> Callable[..., DictConfig]:
    """``tiny_cfg(*overrides)``: the tiny preset on CPU, reading and writing under ``workdir``."""

    def make(*overrides: str) -> DictConfig:
        return compose("config", ["preset=tiny", "device=cpu", f"workdir={workdir}", *overrides])

    return make
