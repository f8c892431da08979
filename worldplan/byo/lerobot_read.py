"""Import LeRobot v3.0 datasets (parquet + mp4, layout in ``lerobot_io.py``) as worldplan episode datasets.

One camera (the first video or image feature, or ``camera=``) becomes the frames, ``observation.state``
the states (size 0 when absent), ``action`` the actions. LeRobot has one action per frame: an episode
of n rows gives n frames and the first n - 1 actions (the last action is reported as not carried,
unless the dataset is a worldplan export with ``repeat_last``, whose last action is the repeated one).
Episodes are read one at a time: the parquet file and the video that hold an episode are opened when
it is reached, and a video shared by consecutive episodes is decoded once, front to back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from worldplan.byo.convert import (
    IMPORTED_POLICY,
    UNKNOWN_SEED,
    ConversionReport,
    check_episode,
    empty_output,
    restore_meta,
)
from worldplan.byo.images import resize_frames, to_rgb
from worldplan.byo.lerobot_io import ACTION_KEY, STATE_KEY, WORLDPLAN_FILE
from worldplan.data.episodes import DatasetError, DatasetMeta, Episode, EpisodeWriter

INFO_KEYS = ("codebase_version", "fps", "features", "data_path")
EPISODE_KEYS = ("episode_index", "length", "data/chunk_index", "data/file_index", "dataset_from_index",
                "dataset_to_index")


def read_info(root: Path) -> dict[str, Any]:
    """meta/info.json, checked for the keys and version this reader needs.

    Raises:
        FileNotFoundError: no meta/info.json; DatasetError: missing keys, another codebase version,
            or no action / camera feature.
    """
    path = root / "meta" / "info.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {root} is not a LeRobot dataset")
    info = json.loads(path.read_text())
    missing = [key for key in INFO_KEYS if key not in info]
    if missing:
        raise DatasetError(f"{path} lacks the keys {missing}; it is not a LeRobot v3 dataset")
    if not str(info["codebase_version"]).startswith("v3"):
        raise DatasetError(f"{root} is a LeRobot {info['codebase_version']} dataset; this reader reads v3.x: "
                           f"convert it with lerobot's v2.1 -> v3.0 converter first")
    if ACTION_KEY not in info["features"]:
        raise DatasetError(f"{root} has no {ACTION_KEY!r} feature: worldplan episodes need actions; for action-free "
                           f"pretraining, give its videos folder as a source (train.pretrain.sources)")
    return info


def _camera(info: Mapping[str, Any], camera: str | None, report: ConversionReport) -> str:
    cameras = sorted(k for k, f in info["features"].items() if f.get("dtype") in ("video", "image"))
    if not cameras:
        raise DatasetError("the dataset has no video or image feature: worldplan plans from pixels")
    chosen = camera or cameras[0]
    if chosen not in cameras:
        raise ValueError(f"camera {chosen!r} is not one of the dataset's cameras {cameras}")
    for other in cameras:
        if other != chosen:
            report.not_carried[other] = "worldplan episodes hold one camera"
    return chosen


def read_episodes(root: Path) -> list[dict[str, Any]]:
    """The episode rows of meta/episodes/*/*.parquet (no per-episode stats), sorted by episode index."""
    files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
    if not files:
        raise DatasetError(f"{root}/meta/episodes holds no parquet file: the episode index is missing")
    rows = []
    for file in files:
        names = [n for n in pq.read_schema(file).names if not n.startswith("stats/")]
        missing = [key for key in EPISODE_KEYS if key not in names]
        if missing:
            raise DatasetError(f"{file} lacks the columns {missing}")
        rows += pq.read_table(file, columns=names).to_pylist()
    return sorted(rows, key=lambda row: row["episode_index"])


class _VideoCursor:
    """Frames of one video file read front to back; reopened only to go back or to another file."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.frames: Iterator[np.ndarray] | None = None
        self.reader: Any = None
        self.position = 0

    def read(self, path: Path, start: int, count: int) -> np.ndarray:
        """(count, H, W, 3) uint8: frames ``start .. start + count - 1`` of ``path``."""
        if path != self.path or start < self.position:
            self.close()
            if not path.is_file():
                raise DatasetError(f"video {path} is missing")
            self.reader, self.path, self.position = imageio.get_reader(path, format="FFMPEG"), path, 0
            self.frames = iter(self.reader)
        out = []
        for frame in self.frames:
            self.position += 1
            if self.position > start:
                out.append(to_rgb(np.asarray(frame)))
            if len(out) == count:
                break
        if len(out) != count:
            raise DatasetError(f"video {path} ends before frame {start + count - 1}")
        return np.stack(out)

    def close(self) -> None:
        """Close the open video, if any."""
        if self.reader is not None:
            self.reader.close()
        self.reader, self.path = None, None


def _column(table: pa.Table, key: str) -> np.ndarray:
    """A feature column of n rows -> (n, d) float32: plain values (LeRobot's shape-(1,) features) or lists."""
    column = table[key].combine_chunks()
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type) or pa.types.is_fixed_size_list(column.type):
        column = column.flatten()
    return column.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(table), -1)


class _Rows:
    """The rows of one episode, from the data file that holds it (the last file read is kept)."""

    def __init__(self, root: Path, template: str) -> None:
        self.root, self.template = root, template
        self.path: Path | None = None
        self.table: pa.Table | None = None

    def file(self, episode: Mapping[str, Any]) -> Path:
        """The data file that holds ``episode`` (a row of the episode index)."""
        return self.root / self.template.format(chunk_index=episode["data/chunk_index"],
                                                file_index=episode["data/file_index"])

    def of(self, episode: Mapping[str, Any]) -> pa.Table:
        """The n rows of ``episode``, in frame order; raises DatasetError for a missing file or short episode."""
        path = self.file(episode)
        if path != self.path:
            if not path.is_file():
                raise DatasetError(f"data file {path} is missing")
            self.path, self.table = path, pq.read_table(path)
        rows = self.table.filter(pc.equal(self.table["episode_index"], episode["episode_index"]))
        if "frame_index" in rows.column_names:
            rows = rows.sort_by("frame_index")
        if len(rows) != episode["length"] or len(rows) < 2:
            raise DatasetError(f"{path}: episode {episode['episode_index']} has {len(rows)} rows, its index says "
                               f"{episode['length']} (worldplan needs at least 2 frames per episode)")
        return rows


def _frames(root: Path, info: Mapping[str, Any], camera: str, episode: Mapping[str, Any], rows: pa.Table,
            cursor: _VideoCursor) -> np.ndarray:
    """(n, H, W, 3) uint8 frames of one episode from its video segment or its image column."""
    if info["features"][camera]["dtype"] == "image":
        return np.stack([to_rgb(iio.imread(cell["bytes"])) for cell in rows[camera].to_pylist()])
    keys = [f"videos/{camera}/{k}" for k in ("chunk_index", "file_index", "from_timestamp")]
    if any(key not in episode for key in keys) or "video_path" not in info:
        raise DatasetError(f"the episode index lacks {keys} (or info.json its video_path) for camera {camera!r}")
    path = root / info["video_path"].format(video_key=camera, chunk_index=episode[keys[0]], file_index=episode[keys[1]])
    return cursor.read(path, round(float(episode[keys[2]]) * float(info["fps"])), len(rows))


def _action_bounds(rows: _Rows, episodes: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Min and max of every recorded action (LeRobot stores no action bounds), one data file at a time."""
    low = high = None
    for path in sorted({rows.file(episode) for episode in episodes}):
        actions = _column(pq.read_table(path, columns=[ACTION_KEY]), ACTION_KEY)
        low = actions.min(0) if low is None else np.minimum(low, actions.min(0))
        high = actions.max(0) if high is None else np.maximum(high, actions.max(0))
    return low.tolist(), high.tolist()


def _new_meta(info: Mapping[str, Any], rows: _Rows, episodes: list[dict[str, Any]], size: int,
              report: ConversionReport) -> DatasetMeta:
    low, high = _action_bounds(rows, episodes)
    state = info["features"].get(STATE_KEY)
    report.not_carried["env"] = "LeRobot records no simulator: gym.make cannot recreate one from env_id"
    report.not_carried["last action of each episode"] = "worldplan stores T + 1 frames and T actions"
    report.not_carried["seeds"] = f"LeRobot records no reset seeds: stored as {UNKNOWN_SEED}"
    report.notes.append("action bounds are the min / max of the recorded actions")
    if state is None:
        report.not_carried["states"] = f"no {STATE_KEY} feature: stored with size 0"
    return DatasetMeta(env_id=f"lerobot:{info.get('robot_type') or 'unknown'}", env_kwargs={}, image_size=size,
                       action_low=low, action_high=high, state_dim=int(np.prod(state["shape"])) if state else 0,
                       fps=float(info["fps"]), policy=IMPORTED_POLICY, noise=0.0,
                       max_steps=max(int(e["length"]) for e in episodes) - 1, base_seed=UNKNOWN_SEED)


def _frame_side(info: Mapping[str, Any], camera: str, image_size: int | None) -> int:
    if image_size is not None:
        return int(image_size)
    height, width = info["features"][camera]["shape"][:2]
    if height != width:
        raise ValueError(f"camera {camera!r} records {width}x{height} frames: give convert.image_size=<S> to resize")
    return int(height)


def import_lerobot(src: str | Path, out: str | Path, *, image_size: int | None = None,
                   camera: str | None = None) -> ConversionReport:
    """Import the LeRobot v3 dataset at ``src`` as a new worldplan dataset at ``out``.

    Raises:
        FileNotFoundError: ``src`` is not a LeRobot dataset; FileExistsError: ``out`` is not empty;
        DatasetError: missing keys, files or rows; ValueError: non-square frames without ``image_size``.
    """
    root = Path(src)
    info = read_info(root)
    report = ConversionReport(source=str(root), out=str(out))
    chosen = _camera(info, camera, report)
    size, episodes = _frame_side(info, chosen, image_size), read_episodes(root)
    rows = _Rows(root, info["data_path"])
    stored_path = root / WORLDPLAN_FILE
    stored = json.loads(stored_path.read_text()) if stored_path.is_file() else None
    meta = restore_meta(stored["meta"]) if stored else _new_meta(info, rows, episodes, size, report)
    if stored and stored.get("last_frame") != "repeat_last":
        report.not_carried["last action of each episode"] = "the export dropped the last frame (drop_last)"
    writer, cursor = EpisodeWriter(empty_output(out), meta), _VideoCursor()
    try:
        for position, episode in enumerate(episodes):
            table = rows.of(episode)
            frames = resize_frames(_frames(root, info, chosen, episode, table, cursor), size)
            states = _column(table, STATE_KEY) if meta.state_dim else np.zeros((len(table), 0), np.float32)
            seed = int(stored["seeds"][position]) if stored else UNKNOWN_SEED
            writer.add(check_episode(Episode(frames=frames, actions=_column(table, ACTION_KEY)[:-1], states=states,
                                             seed=seed), meta, f"episode {episode['episode_index']} of {root}"))
            report.episodes, report.frames = report.episodes + 1, report.frames + len(frames)
    finally:
        cursor.close()
    return report
