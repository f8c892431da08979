"""Minari datasets <-> worldplan episode datasets, one episode at a time (mapping: docs/dataset-format.md).

Import: RGB image observations become the frames (resized to S); ``infos["state"]`` (or, for state
observations, the observations themselves) become the states. A dataset of state observations only
is rendered by setting an env to each state (the dataset's recorded env, or ``cfg.env``), which
needs the env's state protocol. Export: frames as an image observation space stored without JPEG
(lossless), states as ``infos["state"]``, zero rewards, and the worldplan metadata under the Minari
metadata key ``"worldplan"``, so exporting and importing back gives the identical dataset.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import minari
import numpy as np
from gymnasium import spaces
from minari.data_collector.episode_buffer import EpisodeBuffer

from worldplan.byo.adapter import continuous_bounds
from worldplan.byo.callables import import_module
from worldplan.byo.convert import (
    IMPORTED_POLICY,
    UNKNOWN_SEED,
    ConversionReport,
    carried_meta,
    check_episode,
    empty_output,
    restore_meta,
)
from worldplan.byo.factory import make_env, resolve_env
from worldplan.byo.images import resize_frames, to_rgb
from worldplan.byo.inner import STATE_PROTOCOL_HELP, StateNotSettableError
from worldplan.data.episodes import DatasetMeta, Episode, EpisodeDataset, EpisodeWriter
from worldplan.envs.base import GoalEnv

META_KEY = "worldplan"


def _is_image(space: gym.Space) -> bool:
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) in (2, 3) and \
        (len(space.shape) == 2 or space.shape[-1] in (3, 4))


def load(dataset_id: str) -> minari.MinariDataset:
    """``minari.load_dataset`` with an error that says where Minari looked."""
    try:
        return minari.load_dataset(dataset_id)
    except (FileNotFoundError, ValueError) as err:
        raise FileNotFoundError(f"Minari dataset {dataset_id!r} not found locally ({err}); Minari looks under "
                                f"MINARI_DATASETS_PATH (default ~/.minari/datasets)") from err


@dataclass
class _Source:
    """How the frames and states of a Minari dataset are obtained."""

    image_obs: bool
    state_key: str | None  # "infos.state" or "observations" or None (no states)
    renderer: GoalEnv | None
    env_cfg: dict[str, Any] | None  # the env config recorded as the dataset's env


def _spec_env_cfg(dataset: minari.MinariDataset) -> dict[str, Any] | None:
    spec = dataset.env_spec
    if spec is None:
        return None
    env_id = spec.id if spec.id in gym.registry else spec.entry_point
    if not isinstance(env_id, str):
        return None
    kwargs = {k: v for k, v in (spec.kwargs or {}).items() if k != "render_mode"}
    return {"id": env_id, "kwargs": kwargs}


def _renderer(env_cfg: Mapping[str, Any] | None, action_space: spaces.Box, size: int) -> GoalEnv:
    """The env that renders stored states; it must take the dataset's actions and have the state protocol."""
    if env_cfg is None:
        raise ValueError("the dataset stores states, not images, and records no env to render them with: "
                         "import with convert.render_env=config and env.id=<the env the data came from>")
    env = make_env({**env_cfg, "image_size": size}).unwrapped
    if not getattr(env, "can_set_state", True):
        raise StateNotSettableError(f"the dataset stores states, not images, and env {env_cfg['id']!r} cannot be set "
                                    f"to them to render frames: {STATE_PROTOCOL_HELP}")
    space = env.action_space
    if space.shape != action_space.shape or not (np.allclose(space.low, action_space.low)
                                                 and np.allclose(space.high, action_space.high)):
        raise ValueError(f"mismatched action spaces: the dataset has {action_space}, env {env_cfg['id']!r} has "
                         f"{space}; render with the env the data came from (env.id=...)")
    env.reset(seed=0)
    return env


def _source(dataset: minari.MinariDataset, render_env: Mapping[str, Any] | None, size: int) -> _Source:
    first = next(iter(dataset.iterate_episodes([0]))) if dataset.total_episodes else None
    has_state_info = first is not None and isinstance(first.infos, dict) and "state" in first.infos
    obs_space = dataset.observation_space
    if _is_image(obs_space):
        return _Source(True, "infos.state" if has_state_info else None, None, _spec_env_cfg(dataset))
    if not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
        raise ValueError(f"dataset observations are {obs_space}: worldplan imports RGB image observations, or state "
                         f"vectors it renders by setting an env to each of them")
    env_cfg = dict(render_env) if render_env is not None else _spec_env_cfg(dataset)
    action_space = continuous_bounds(dataset.action_space, dataset.spec.dataset_id)
    renderer = _renderer(env_cfg, action_space, size)
    return _Source(False, "infos.state" if has_state_info else "observations", renderer, env_cfg)


def _frame_side(dataset: minari.MinariDataset, image_size: int | None) -> int:
    space = dataset.observation_space
    if image_size is not None:
        return int(image_size)
    if _is_image(space) and space.shape[0] != space.shape[1]:
        raise ValueError(f"the dataset's {space.shape[1]}x{space.shape[0]} frames are not square: give "
                         f"convert.image_size=<S> to resize them")
    return int(space.shape[0]) if _is_image(space) else 64


def _states(episode: Any, source: _Source) -> np.ndarray:
    """(T+1, state_dim) float32 states of a Minari episode (state_dim 0 when the dataset has none)."""
    if source.state_key == "infos.state":
        return np.asarray(episode.infos["state"], np.float32).reshape(len(episode) + 1, -1)
    if source.state_key == "observations":
        return np.asarray(episode.observations, np.float32).reshape(len(episode) + 1, -1)
    return np.zeros((len(episode) + 1, 0), np.float32)


def _frames(episode: Any, states: np.ndarray, source: _Source, size: int) -> np.ndarray:
    """(T+1, S, S, 3) uint8: the image observations resized, or the env rendered at every state."""
    if source.image_obs:
        return resize_frames(to_rgb(np.asarray(episode.observations)), size)
    frames = []
    for state in states:
        source.renderer.set_state(state)
        frames.append(source.renderer.render())
    return np.stack(frames)


def _new_meta(dataset: minari.MinariDataset, source: _Source, size: int, lengths: list[int],
              report: ConversionReport) -> DatasetMeta:
    stored = dataset.storage.metadata.get(META_KEY)
    if stored is not None:
        return restore_meta(stored)
    if source.env_cfg is not None:
        env_id, env_kwargs = resolve_env({**source.env_cfg, "image_size": size})
    else:
        env_id, env_kwargs = f"minari:{dataset.spec.dataset_id}", {}
        report.not_carried["env"] = "the dataset records no env: gym.make cannot recreate it from env_id"
    fps = float(source.renderer.metadata["render_fps"]) if source.renderer is not None else 0.0
    if source.renderer is None:
        report.notes.append("the control rate is unknown (fps 0): set it if the frames are used by rate")
    first = next(iter(dataset.iterate_episodes([0])))
    space = continuous_bounds(dataset.action_space, dataset.spec.dataset_id)
    return DatasetMeta(env_id=env_id, env_kwargs=env_kwargs, image_size=size, action_low=space.low.tolist(),
                       action_high=space.high.tolist(), state_dim=int(_states(first, source).shape[1]), fps=fps,
                       policy=IMPORTED_POLICY, noise=0.0, max_steps=max(lengths, default=0), base_seed=UNKNOWN_SEED)


def _note_dropped(episode: Any, source: _Source, report: ConversionReport) -> None:
    if np.any(np.asarray(episode.rewards) != 0):
        report.not_carried["rewards"] = "worldplan datasets store no rewards (planning uses goal images)"
    report.not_carried.setdefault("terminations, truncations", "an episode's end is its length")
    extra = sorted(k for k in (episode.infos or {}) if k != "state")
    if extra:
        report.not_carried["infos"] = f"keys {extra} (only infos['state'] is kept, as the states)"
    if source.state_key is None:
        report.not_carried["states"] = "the dataset has image observations and no infos['state']: stored with size 0"


def import_minari(dataset_id: str, out: str, *, image_size: int | None = None,
                  render_env: Mapping[str, Any] | None = None) -> ConversionReport:
    """Import Minari dataset ``dataset_id`` as a new worldplan dataset at ``out``.

    Args:
        dataset_id: a locally available Minari dataset (under MINARI_DATASETS_PATH).
        out: a new or empty directory.
        image_size: S; None: the dataset's (square) frame side, or 64 for rendered states.
        render_env: env config ({"id", "kwargs", ...}) that renders a state-only dataset; None: the
            dataset's recorded env.

    Raises:
        FileNotFoundError: no such dataset; FileExistsError: ``out`` is not empty; ValueError: discrete
            or unbounded actions, unsupported observations, mismatched action spaces;
            ``StateNotSettableError``: states to render but the env cannot be set to them.
    """
    dataset = load(dataset_id)
    continuous_bounds(dataset.action_space, dataset_id)
    size = _frame_side(dataset, image_size)
    source = _source(dataset, render_env, size)
    report = ConversionReport(source=f"minari:{dataset_id}", out=str(out))
    episode_meta = list(dataset.storage.get_episode_metadata(range(dataset.total_episodes)))
    meta = _new_meta(dataset, source, size, [int(m["total_steps"]) for m in episode_meta], report)
    writer = EpisodeWriter(empty_output(out), meta)
    for index, (episode, info) in enumerate(zip(dataset.iterate_episodes(), episode_meta, strict=True)):
        states = _states(episode, source)
        frames = _frames(episode, states, source, size)
        seed = int(info.get("seed", UNKNOWN_SEED))
        writer.add(check_episode(Episode(frames=frames, actions=np.asarray(episode.actions), states=states, seed=seed),
                                 meta, f"episode {index} of {dataset_id}"))
        _note_dropped(episode, source, report)
        report.episodes, report.frames = report.episodes + 1, report.frames + len(frames)
    if any("seed" not in m for m in episode_meta):
        report.not_carried["seeds"] = f"some reset seeds are not recorded: stored as {UNKNOWN_SEED}"
    return report


def _env_spec(meta: DatasetMeta, report: ConversionReport) -> gym.envs.registration.EnvSpec | None:
    module, _, name = meta.env_id.rpartition(":")
    try:
        if module:
            import_module(module)
        spec = gym.spec(name)
    except (gym.error.Error, ValueError):
        report.notes.append(f"env {meta.env_id!r} is not registered here: the Minari dataset records no env spec")
        return None
    return gym.envs.registration.EnvSpec(id=spec.id, entry_point=spec.entry_point, kwargs=dict(meta.env_kwargs),
                                         max_episode_steps=meta.max_steps)


def _buffers(dataset: EpisodeDataset) -> Iterator[EpisodeBuffer]:
    for episode in (dataset[i] for i in range(len(dataset))):
        ended = np.zeros(episode.length, bool)
        if episode.length:
            ended[-1] = True
        env_ended = episode.length < dataset.meta.max_steps
        yield EpisodeBuffer(seed=None if episode.seed < 0 else episode.seed, observations=np.asarray(episode.frames),
                            actions=np.asarray(episode.actions), rewards=np.zeros(episode.length),
                            terminations=ended & env_ended, truncations=ended & (not env_ended),
                            infos={"state": np.asarray(episode.states)})


def export_minari(path: str, dataset_id: str) -> ConversionReport:
    """Export the worldplan dataset at ``path`` as the local Minari dataset ``dataset_id``.

    Raises:
        DatasetError: ``path`` is not a valid dataset; ValueError: Minari refuses the id (e.g. it exists).
    """
    dataset = EpisodeDataset.open(path)
    meta, size = dataset.meta, dataset.meta.image_size
    report = ConversionReport(source=str(path), out=f"minari:{dataset_id}")
    report.notes.append("rewards are written as 0 and terminations/truncations from the episode lengths")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Minari warns about every unset optional field (author email, ...)
        target = minari.create_dataset_from_buffers(
            dataset_id, [], env=_env_spec(meta, report),
            observation_space=spaces.Box(0, 255, (size, size, 3), np.uint8),
            action_space=spaces.Box(np.asarray(meta.action_low, np.float32), np.asarray(meta.action_high, np.float32),
                                    dtype=np.float32),
            algorithm_name=meta.policy, author="worldplan", description=f"worldplan episodes of {meta.env_id}",
            data_format="arrow", jpeg_encoding=False)
    for buffer in _buffers(dataset):
        target.storage.update_episodes([buffer])
        report.episodes, report.frames = report.episodes + 1, report.frames + len(buffer.observations)
    target.storage.update_metadata({META_KEY: carried_meta(meta)})
    return report
