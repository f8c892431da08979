"""The offline episode dataset: a directory of uncompressed ``.npy`` episodes and one ``meta.json``.

Layout (see docs/dataset-format.md)::

    <dataset>/meta.json                         format name + version, env, bounds, seeds, statistics
    <dataset>/episodes/ep_000000/frames.npy     (T+1, S, S, 3) uint8, frame t is seen before action t
    <dataset>/episodes/ep_000000/actions.npy    (T, A_env) float32
    <dataset>/episodes/ep_000000/states.npy     (T+1, state_dim) float32, the true state of frame t
    <dataset>/episodes/ep_000000/proprio.npy    (T+1, proprio_dim) float32, the agent's proprioception
                                                at frame t; only when ``proprio_dim`` > 0

``EpisodeDataset.open`` validates everything it will later read and raises ``DatasetError``
(``check_values`` also reads the data, for NaN or inf);
``EpisodeWriter`` creates or resumes a dataset one episode at a time, crash-safely.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from worldplan import __version__
from worldplan.atomic import TMP_PREFIX, atomic_path, write_json_atomic
from worldplan.data.stats import RunningStats

FORMAT_NAME = "worldplan-episodes"
FORMAT_VERSION = 1
META_FILE = "meta.json"
EPISODES_DIR = "episodes"
# Fields of DatasetMeta that must match for a collection to resume (or extend) an existing dataset.
IDENTITY_FIELDS = ("env_id", "env_kwargs", "image_size", "action_low", "action_high", "state_dim", "fps",
                   "policy", "noise", "max_steps", "base_seed")

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset directory is missing, corrupt, of another format/version/env, or not a dataset."""


@dataclass
class Episode:
    """One episode of T env steps.

    Attributes:
        frames: (T+1, S, S, 3) uint8 observations; frame t is observed before action t.
        actions: (T, A_env) float32 actions in env units.
        states: (T+1, state_dim) float32 true states, one per frame.
        seed: the seed the env was reset with (and the policy's random stream derives from).
        proprio: (T+1, proprio_dim) float32 proprioception, one per frame, in a dataset that has it.
    """

    frames: np.ndarray
    actions: np.ndarray
    states: np.ndarray
    seed: int
    proprio: np.ndarray | None = None

    @property
    def length(self) -> int:
        """T, the number of actions."""
        return int(self.actions.shape[0])


@dataclass
class DatasetMeta:
    """The contents of ``meta.json`` (besides the format name and version).

    ``episodes`` lists ``{"index", "seed", "length"}`` per written episode; ``stats`` holds
    ``RunningStats.to_dict()`` of all actions (key ``"action"``), all states (``"state"``) and, when
    ``proprio_dim`` > 0, all proprioception (``"proprio"``). Datasets written before proprioception
    was stored read as ``proprio_dim`` 0.
    """

    env_id: str
    env_kwargs: dict[str, Any]
    image_size: int
    action_low: list[float]
    action_high: list[float]
    state_dim: int
    fps: float
    policy: str
    noise: float
    max_steps: int
    base_seed: int
    episodes: list[dict[str, int]] = field(default_factory=list)
    stats: dict[str, dict] = field(default_factory=dict)
    created_by: str = f"worldplan {__version__}"
    proprio_dim: int = 0

    @property
    def action_dim(self) -> int:
        """A_env, the env's action size."""
        return len(self.action_low)

    @property
    def num_frames(self) -> int:
        """Frames stored in all episodes together (T+1 per episode)."""
        return sum(ep["length"] + 1 for ep in self.episodes)

    def normalisation(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std, each (A_env,) for ``key="action"``, (state_dim,) for ``"state"`` or (proprio_dim,)
        for ``"proprio"``, float32."""
        if key not in self.stats:
            raise KeyError(f"no statistics for {key!r}; have {sorted(self.stats)}")
        stats = self.stats[key]
        return np.asarray(stats["mean"], np.float32), np.asarray(stats["std"], np.float32)

    def identity(self) -> dict[str, Any]:
        """The settings a resumed collection must share with this dataset."""
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}

    def to_json(self) -> dict[str, Any]:
        """The full ``meta.json`` object."""
        return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **asdict(self)}


def read_meta(path: str | Path) -> DatasetMeta:
    """Read and check ``<path>/meta.json``: JSON, format name, format version, fields.

    Raises:
        DatasetError: naming the file and what is wrong with it.
    """
    meta_path = Path(path) / META_FILE
    if not meta_path.is_file():
        raise DatasetError(f"{meta_path} not found: {path} is not a worldplan episode dataset")
    try:
        data = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{meta_path} is corrupt (not valid JSON: {err})") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise DatasetError(f"{meta_path} is not a {FORMAT_NAME!r} dataset (format: {found!r})")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise DatasetError(
            f"{meta_path} has format version {version}, but this worldplan ({__version__}) reads version "
            f"{FORMAT_VERSION}; use a worldplan that reads version {version} or re-collect the dataset")
    names = {f.name for f in fields(DatasetMeta)}
    optional = ("episodes", "stats", "created_by", "proprio_dim")
    missing = sorted(n for n in names if n not in data and n not in optional)
    if missing:
        raise DatasetError(f"{meta_path} is corrupt: missing fields {missing}")
    return DatasetMeta(**{k: v for k, v in data.items() if k in names})


def _check_npy(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Check an ``.npy`` file's header and size without reading its data.

    Raises:
        DatasetError: naming ``path`` when it is missing, unreadable, of another shape or dtype,
            or shorter than its header says (a truncated write).
    """
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            found_shape, fortran, found_dtype = read_header(f)
            data_start = f.tell()
    except FileNotFoundError as err:
        raise DatasetError(f"{path} is missing") from err
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path} is corrupt (not a readable .npy file: {err})") from err
    if tuple(found_shape) != shape or np.dtype(found_dtype) != dtype or fortran:
        raise DatasetError(f"{path} holds {np.dtype(found_dtype)} {tuple(found_shape)}"
                           f"{' (Fortran order)' if fortran else ''}; expected {np.dtype(dtype)} {shape}")
    expected = data_start + int(np.prod(shape)) * np.dtype(dtype).itemsize
    size = path.stat().st_size
    if size != expected:
        raise DatasetError(f"{path} is truncated or corrupt: {size} bytes, expected {expected}")


def _episode_dir(root: Path, index: int) -> Path:
    return root / EPISODES_DIR / f"ep_{index:06d}"


def _array_names(meta: DatasetMeta) -> tuple[str, ...]:
    """The arrays each episode of the dataset stores (``Episode`` field and ``.npy`` file names)."""
    return ("frames", "actions", "states") + (("proprio",) if meta.proprio_dim else ())


def _expected_shapes(meta: DatasetMeta, length: int) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    s = meta.image_size
    shapes = {
        "frames": ((length + 1, s, s, 3), np.dtype(np.uint8)),
        "actions": ((length, meta.action_dim), np.dtype(np.float32)),
        "states": ((length + 1, meta.state_dim), np.dtype(np.float32)),
        "proprio": ((length + 1, meta.proprio_dim), np.dtype(np.float32)),
    }
    return {name: shapes[name] for name in _array_names(meta)}


class EpisodeDataset:
    """A validated, read-only episode dataset; ``ds[i]`` memory-maps episode ``i``."""

    def __init__(self, path: Path, meta: DatasetMeta) -> None:
        self.path = path
        self.meta = meta

    @classmethod
    def open(cls, path: str | Path, *, env_id: str | None = None) -> EpisodeDataset:
        """Open and validate the dataset at ``path``.

        Args:
            path: the dataset directory.
            env_id: when given, the dataset must have been collected from this env.

        Raises:
            DatasetError: naming the problem (and the file, for a corrupt or missing one).
        """
        root = Path(path)
        meta = read_meta(root)
        if env_id is not None and meta.env_id != env_id:
            raise DatasetError(f"dataset {root} was collected from env {meta.env_id!r}, expected {env_id!r}")
        for position, entry in enumerate(meta.episodes):
            if not isinstance(entry, dict) or entry.get("index") != position \
                    or not isinstance(entry.get("length"), int) or not isinstance(entry.get("seed"), int):
                raise DatasetError(f"{root / META_FILE} is corrupt: episode entry {position} is {entry}")
            for name, (shape, dtype) in _expected_shapes(meta, entry["length"]).items():
                _check_npy(_episode_dir(root, position) / f"{name}.npy", shape, dtype)
        return cls(root, meta)

    def __len__(self) -> int:
        return len(self.meta.episodes)

    def __getitem__(self, index: int) -> Episode:
        """Episode ``index`` (negative counts from the end) with memory-mapped, read-only arrays."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"episode {index} out of range for a dataset of {len(self)} episodes")
        index %= len(self)
        directory = _episode_dir(self.path, index)
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r") for name in _array_names(self.meta)}
        return Episode(seed=int(self.meta.episodes[index]["seed"]), **arrays)

    @property
    def lengths(self) -> list[int]:
        """T of every episode."""
        return [ep["length"] for ep in self.meta.episodes]

    def check_values(self) -> None:
        """Read every episode's actions, states and proprioception, one episode at a time; refuse NaN or inf.

        ``open`` checks headers and sizes only; this reads the data (frames are uint8, always finite).

        Raises:
            DatasetError: naming the episode's file and the first step holding a non-finite value.
        """
        for index in range(len(self)):
            episode = self[index]
            for name in _array_names(self.meta)[1:]:  # frames are uint8, always finite
                bad = np.flatnonzero(~np.isfinite(getattr(episode, name)).all(axis=1))
                if bad.size:
                    path = _episode_dir(self.path, index) / f"{name}.npy"
                    raise DatasetError(f"{path} holds non-finite {name} (NaN or inf, first at step {bad[0]}): "
                                       f"re-collect or re-import the dataset without episode {index}")


class EpisodeWriter:
    """Create a dataset, or resume one collected with the same settings, one episode at a time.

    Each episode goes to ``episodes/.tmp-...`` first and is renamed into place; ``meta.json`` (with
    updated running statistics) is then replaced atomically. After a crash, a resumed writer drops
    temporary directories and episodes that ``meta.json`` does not list, keeping all listed ones.
    """

    def __init__(self, path: str | Path, meta: DatasetMeta) -> None:
        """Args: path, the dataset directory; meta, the new dataset's settings (no episodes)."""
        self.path = Path(path)
        if (self.path / META_FILE).exists():
            self.meta = self._resume(meta)
        else:
            self._create(meta)
            self.meta = meta
        sizes = {"action": self.meta.action_dim, "state": self.meta.state_dim}
        if self.meta.proprio_dim:
            sizes["proprio"] = self.meta.proprio_dim
        self._stats = {key: RunningStats.from_dict(self.meta.stats[key]) if key in self.meta.stats
                       else RunningStats.empty(dim) for key, dim in sizes.items()}

    def _create(self, meta: DatasetMeta) -> None:
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise DatasetError(f"{self.path} exists and is not empty but holds no {META_FILE}: it is not a "
                               f"worldplan dataset; choose a new or empty directory")
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path / META_FILE, meta.to_json())
        (self.path / EPISODES_DIR).mkdir()

    def _resume(self, meta: DatasetMeta) -> DatasetMeta:
        existing = EpisodeDataset.open(self.path).meta
        mine, theirs = meta.identity(), existing.identity()
        diff = [f"{k}: dataset has {theirs[k]!r}, asked {mine[k]!r}" for k in IDENTITY_FIELDS if mine[k] != theirs[k]]
        if diff:
            raise DatasetError(f"{self.path} holds a different dataset ({'; '.join(diff)}); "
                               f"collect into another directory or with the dataset's settings")
        self._drop_unlisted(len(existing.episodes))
        return existing

    def _drop_unlisted(self, listed: int) -> None:
        episodes = self.path / EPISODES_DIR
        episodes.mkdir(exist_ok=True)
        for child in sorted(episodes.iterdir()):
            numbered = re.fullmatch(r"ep_(\d{6})", child.name)
            if child.name.startswith(TMP_PREFIX) or (numbered and int(numbered.group(1)) >= listed):
                log.warning("removing %s left by an interrupted collection", child)
                shutil.rmtree(child)

    def __len__(self) -> int:
        return len(self.meta.episodes)

    def add(self, episode: Episode) -> None:
        """Write ``episode`` as the next one and update ``meta.json``.

        Raises:
            ValueError: if the episode's shapes or dtypes do not fit the dataset, or it has proprioception
                and the dataset none, or the other way round.
        """
        index = len(self.meta.episodes)
        expected = _expected_shapes(self.meta, episode.length)
        if (episode.proprio is None) != ("proprio" not in expected):
            raise ValueError(f"the episode has {'no ' if episode.proprio is None else ''}proprioception but the "
                             f"dataset's proprio_dim is {self.meta.proprio_dim}")
        for name, (shape, dtype) in expected.items():
            array = getattr(episode, name)
            if array.shape != shape or array.dtype != dtype:
                raise ValueError(f"episode {name} is {array.dtype} {array.shape}; dataset expects {dtype} {shape}")
        final = _episode_dir(self.path, index)
        with atomic_path(final) as tmp:
            tmp.mkdir()
            for name in expected:
                np.save(tmp / f"{name}.npy", getattr(episode, name))
        arrays = {"action": episode.actions, "state": episode.states, "proprio": episode.proprio}
        for key, stats in self._stats.items():
            stats.update(arrays[key])
        self.meta.episodes.append({"index": index, "seed": int(episode.seed), "length": episode.length})
        self.meta.stats = {key: stats.to_dict() for key, stats in self._stats.items()}
        write_json_atomic(self.path / META_FILE, self.meta.to_json())

    def dataset(self) -> EpisodeDataset:
        """The dataset as written so far (validated)."""
        return EpisodeDataset.open(self.path)
