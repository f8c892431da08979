"""Export worldplan datasets in the LeRobot v3.0 layout (pyarrow + imageio; ``lerobot`` itself is not needed).

The ``lerobot`` package pins another torch and pulls CUDA wheels, so worldplan writes (and reads, in
``lerobot_read.py``) its documented on-disk layout directly::

    meta/info.json                       codebase_version "v3.0", fps, features, path templates, totals
    meta/stats.json                      min / max / mean / std / count per feature
    meta/tasks.parquet                   one task, index 0
    meta/episodes/chunk-000/file-000.parquet   one row per episode: length, data and video locations
    data/chunk-CCC/file-FFF.parquet      one row per frame: observation.state, action, timestamp, indices
    videos/observation.image/chunk-CCC/file-FFF.mp4
    meta/worldplan.json                  worldplan's metadata and seeds, so an import restores them

Each episode gets its own data file and video (file index = episode index), which v3 allows (the
episode rows say where each episode lives). LeRobot pairs every frame with an action, so the frame
after the last action either keeps the last action repeated (``repeat_last``, nothing lost) or is
dropped (``drop_last``). Videos are lossless H.264 in RGB (``lossless=True``, bit-exact round trip) or
the usual yuv420p.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from worldplan.atomic import atomic_path, write_json_atomic
from worldplan.byo.convert import ConversionReport, carried_meta, empty_output
from worldplan.data.episodes import DatasetMeta, EpisodeDataset
from worldplan.data.stats import RunningStats

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
IMAGE_KEY, STATE_KEY, ACTION_KEY = "observation.image", "observation.state", "action"
WORLDPLAN_FILE = "meta/worldplan.json"
LAST_FRAME = ("repeat_last", "drop_last")


def location(index: int) -> dict[str, int]:
    """Chunk and file index of episode ``index`` (one file per episode)."""
    return {"chunk_index": index // CHUNKS_SIZE, "file_index": index % CHUNKS_SIZE}


def feature_column(values: np.ndarray) -> pa.Array:
    """(n, d) float32 -> the parquet column LeRobot stores for a shape-(d,) feature.

    LeRobot maps shape (1,) to a plain float32 column (HF ``Value``) and longer vectors to fixed-size
    float32 lists (HF ``Sequence(length=d)``); ``LeRobotDataset`` cannot load a list column of length 1.
    """
    values = np.ascontiguousarray(values, np.float32)
    if values.shape[1] == 1:
        return pa.array(values[:, 0])
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def _scalar(dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "shape": [1], "names": None}


def _features(meta: DatasetMeta, fps: float, lossless: bool) -> dict[str, Any]:
    size = meta.image_size
    video = {"video.height": size, "video.width": size, "video.codec": "h264",
             "video.pix_fmt": "rgb24" if lossless else "yuv420p", "video.is_depth_map": False, "video.fps": fps,
             "video.channels": 3, "has_audio": False}
    features = {IMAGE_KEY: {"dtype": "video", "shape": [size, size, 3], "names": ["height", "width", "channels"],
                            "info": video}}
    if meta.state_dim:
        features[STATE_KEY] = {"dtype": "float32", "shape": [meta.state_dim], "names": None}
    features[ACTION_KEY] = {"dtype": "float32", "shape": [meta.action_dim], "names": None}
    for name, dtype in (("timestamp", "float32"), ("frame_index", "int64"), ("episode_index", "int64"),
                        ("index", "int64"), ("task_index", "int64")):
        features[name] = _scalar(dtype)
    return features


def write_video(path: Path, frames: np.ndarray, fps: float, *, lossless: bool) -> None:
    """(n, S, S, 3) uint8 frames -> H.264 mp4 at ``fps``: RGB with crf 0 (lossless) or yuv420p; atomic."""
    codec = {"codec": "libx264rgb", "pixelformat": "rgb24", "output_params": ["-crf", "0", "-preset", "fast"],
             "macro_block_size": 1} if lossless else {"codec": "libx264", "pixelformat": "yuv420p",
                                                      "macro_block_size": 2}
    with atomic_path(path) as tmp, imageio.get_writer(tmp, format="FFMPEG", fps=fps, ffmpeg_log_level="error",
                                                      **codec) as writer:
        for frame in frames:
            writer.append_data(frame)


class _FeatureStats:
    """Streaming min / max / mean / std / count of one feature's rows."""

    def __init__(self, dim: int) -> None:
        self.running = RunningStats.empty(dim)
        self.low, self.high = np.full(dim, np.inf), np.full(dim, -np.inf)

    def update(self, rows: np.ndarray) -> None:
        """rows: (n, dim)."""
        rows = np.asarray(rows, np.float64)
        self.running.update(rows)
        if len(rows):
            self.low, self.high = np.minimum(self.low, rows.min(0)), np.maximum(self.high, rows.max(0))

    def to_json(self, shape: tuple[int, ...]) -> dict[str, Any]:
        """The LeRobot stats entry, each statistic reshaped to ``shape``."""
        stats = {"min": self.low, "max": self.high, "mean": self.running.mean, "std": self.running.std}
        return {**{k: v.reshape(shape).tolist() for k, v in stats.items()}, "count": [self.running.count]}


def _write_episode(root: Path, dataset: EpisodeDataset, index: int, first_row: int, rows: int, *,
                   lossless: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write episode ``index``'s data file and video; returns its (frames, actions, states) rows."""
    episode, fps = dataset[index], dataset.meta.fps
    frames, states = np.asarray(episode.frames[:rows]), np.asarray(episode.states[:rows])
    actions = np.concatenate([episode.actions, episode.actions[-1:]])[:rows]  # the last action repeated
    columns = {STATE_KEY: feature_column(states)} if dataset.meta.state_dim else {}
    columns[ACTION_KEY] = feature_column(actions)
    columns["timestamp"] = pa.array(np.arange(rows, dtype=np.float32) / np.float32(fps))
    columns["frame_index"] = pa.array(np.arange(rows, dtype=np.int64))
    columns["episode_index"] = pa.array(np.full(rows, index, np.int64))
    columns["index"] = pa.array(np.arange(first_row, first_row + rows, dtype=np.int64))
    columns["task_index"] = pa.array(np.zeros(rows, np.int64))
    data_path = root / DATA_PATH.format(**location(index))
    data_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), data_path)
    write_video(root / VIDEO_PATH.format(video_key=IMAGE_KEY, **location(index)), frames, fps, lossless=lossless)
    return frames, actions, states


def _episode_row(index: int, first_row: int, rows: int, fps: float) -> dict[str, Any]:
    loc = location(index)
    return {"episode_index": index, "tasks": ["reach the goal image"], "length": rows,
            "data/chunk_index": loc["chunk_index"], "data/file_index": loc["file_index"],
            "dataset_from_index": first_row, "dataset_to_index": first_row + rows,
            f"videos/{IMAGE_KEY}/chunk_index": loc["chunk_index"], f"videos/{IMAGE_KEY}/file_index": loc["file_index"],
            f"videos/{IMAGE_KEY}/from_timestamp": 0.0, f"videos/{IMAGE_KEY}/to_timestamp": rows / fps,
            "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}


def _info(meta: DatasetMeta, *, episodes: int, frames: int, lossless: bool) -> dict[str, Any]:
    """meta/info.json of a dataset of ``episodes`` episodes and ``frames`` rows."""
    fps = float(meta.fps)
    return {"codebase_version": CODEBASE_VERSION, "robot_type": None, "total_episodes": episodes,
            "total_frames": frames, "total_tasks": 1, "chunks_size": CHUNKS_SIZE, "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 500, "fps": int(fps) if fps.is_integer() else fps,
            "splits": {"train": f"0:{episodes}"}, "data_path": DATA_PATH, "video_path": VIDEO_PATH,
            "features": _features(meta, fps, lossless)}


def _write_tasks(root: Path) -> None:
    """meta/tasks.parquet: the task string as the (pandas) index, ``task_index`` as the column."""
    pandas_meta = {"index_columns": ["task"], "column_indexes": [], "pandas_version": "2.2.0",
                   "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                                "numpy_type": "int64", "metadata": None},
                               {"name": "task", "field_name": "task", "pandas_type": "unicode",
                                "numpy_type": "object", "metadata": None}]}
    table = pa.table({"task_index": pa.array([0], pa.int64()), "task": pa.array(["reach the goal image"])})
    pq.write_table(table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()}),
                   root / "meta" / "tasks.parquet")


def export_lerobot(path: str | Path, out: str | Path, *, last_frame: str = "repeat_last",
                   lossless: bool = True) -> ConversionReport:
    """Write the worldplan dataset at ``path`` as a LeRobot v3.0 dataset in the new directory ``out``.

    Raises:
        DatasetError: ``path`` is not a valid dataset; FileExistsError: ``out`` is not empty;
        ValueError: unknown ``last_frame``.
    """
    if last_frame not in LAST_FRAME:
        raise ValueError(f"last_frame={last_frame!r}: choose one of {', '.join(LAST_FRAME)}")
    dataset, root = EpisodeDataset.open(path), empty_output(out)
    meta, fps = dataset.meta, float(dataset.meta.fps)
    if not fps > 0:
        raise ValueError(f"dataset {path} has no control rate (fps {meta.fps}); LeRobot timestamps need one")
    report = ConversionReport(source=str(path), out=str(root))
    stats = {IMAGE_KEY: _FeatureStats(3), STATE_KEY: _FeatureStats(meta.state_dim),
             ACTION_KEY: _FeatureStats(meta.action_dim)}
    rows_of_episodes, first_row = [], 0
    for index, length in enumerate(dataset.lengths):
        rows = length + 1 if last_frame == "repeat_last" else length
        frames, actions, states = _write_episode(root, dataset, index, first_row, rows, lossless=lossless)
        stats[IMAGE_KEY].update(frames.reshape(-1, 3) / 255.0)
        stats[STATE_KEY].update(states)
        stats[ACTION_KEY].update(actions)
        rows_of_episodes.append(_episode_row(index, first_row, rows, fps))
        first_row += rows
        report.episodes, report.frames = report.episodes + 1, report.frames + rows
    episodes_path = root / EPISODES_PATH
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows_of_episodes), episodes_path)
    _write_tasks(root)
    shapes = {IMAGE_KEY: (3, 1, 1), STATE_KEY: (meta.state_dim,), ACTION_KEY: (meta.action_dim,)}
    write_json_atomic(root / "meta" / "stats.json", {k: s.to_json(shapes[k]) for k, s in stats.items()
                                                      if k != STATE_KEY or meta.state_dim})
    write_json_atomic(root / "meta" / "info.json", _info(meta, episodes=len(dataset), frames=first_row,
                                                         lossless=lossless))
    write_json_atomic(root / WORLDPLAN_FILE, {"meta": carried_meta(meta), "last_frame": last_frame,
                                             "seeds": [ep["seed"] for ep in meta.episodes]})
    if last_frame == "drop_last":
        report.not_carried["last frame of each episode"] = "last_frame=drop_last (LeRobot pairs frames with actions)"
    if not lossless:
        report.notes.append("frames were encoded as lossy yuv420p H.264: an import gives slightly different pixels")
    return report
