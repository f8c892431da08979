"""What conversions share: the report of what was (not) carried over, and per-episode checks.

Converters stream one episode at a time into an ``EpisodeWriter`` (or out of an ``EpisodeDataset``),
so a dataset never has to fit in memory; every array is checked before it is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from worldplan.data.episodes import FORMAT_NAME, DatasetError, DatasetMeta, Episode

IMPORTED_POLICY = "imported"  # DatasetMeta.policy of data whose collection policy is unknown
UNKNOWN_SEED = -1  # episode and base seed of data whose reset seeds are unknown (docs/dataset-format.md)
# The DatasetMeta fields a converter stores beside the data so the round trip restores them exactly.
CARRIED_META = ("env_id", "env_kwargs", "image_size", "action_low", "action_high", "state_dim", "fps", "policy",
                "noise", "max_steps", "base_seed", "created_by")


@dataclass
class ConversionReport:
    """The outcome of one import or export.

    Attributes:
        source: what was read (dataset id or path).
        out: what was written.
        episodes: episodes converted.
        frames: frames converted.
        not_carried: what the target format could not hold or the source did not have -> why.
        notes: other facts the user should know (e.g. assumptions made).
    """

    source: str
    out: str
    episodes: int = 0
    frames: int = 0
    not_carried: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [f"converted {self.episodes} episodes ({self.frames} frames): {self.source} -> {self.out}"]
        out += [f"  not carried over: {what}: {why}" for what, why in self.not_carried.items()]
        out += [f"  note: {note}" for note in self.notes]
        return out


def carried_meta(meta: DatasetMeta) -> dict[str, Any]:
    """The fields of ``meta`` a converter stores so that an import restores them (format name included)."""
    return {"format": FORMAT_NAME, **{name: getattr(meta, name) for name in CARRIED_META}}


def restore_meta(stored: Mapping[str, Any]) -> DatasetMeta:
    """The ``DatasetMeta`` (without episodes) that ``carried_meta`` stored.

    Raises:
        DatasetError: a stored field is missing.
    """
    missing = [name for name in CARRIED_META if name not in stored]
    if missing or stored.get("format") != FORMAT_NAME:
        raise DatasetError(f"the stored worldplan metadata is incomplete (missing {missing}); re-export the dataset")
    return DatasetMeta(**{name: stored[name] for name in CARRIED_META})


def check_episode(episode: Episode, meta: DatasetMeta, where: str) -> Episode:
    """Cast an episode's arrays to the dataset's dtypes and check shapes and finiteness.

    Args:
        episode: frames (T+1, S, S, 3), actions (T, A_env), states (T+1, state_dim).
        meta: the dataset being written.
        where: the source episode, named in errors.

    Raises:
        ValueError: wrong shapes, actions outside finite values, or non-finite states.
    """
    frames = np.ascontiguousarray(episode.frames, dtype=np.uint8)
    actions = np.ascontiguousarray(episode.actions, dtype=np.float32)
    states = np.ascontiguousarray(episode.states, dtype=np.float32)
    length, size = actions.shape[0], meta.image_size
    expected = {"frames": (length + 1, size, size, 3), "actions": (length, meta.action_dim),
                "states": (length + 1, meta.state_dim)}
    for name, array in (("frames", frames), ("actions", actions), ("states", states)):
        if array.shape != expected[name]:
            raise ValueError(f"{where}: {name} have shape {array.shape}, expected {expected[name]}")
    if not (np.all(np.isfinite(actions)) and np.all(np.isfinite(states))):
        raise ValueError(f"{where}: actions or states hold NaN or inf values")
    return Episode(frames=frames, actions=actions, states=states, seed=int(episode.seed))


def empty_output(path: str | Path) -> Path:
    """``path`` as a new or empty directory target; raises FileExistsError naming it otherwise."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path} exists and is not empty: choose a new output directory")
    return path
