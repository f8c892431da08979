"""LeRobot v3.0 export and import (lerobot itself is too heavy to install: the foreign dataset below is
written by hand with pyarrow + imageio, following the v3.0 layout, independently of worldplan's writer)."""

from __future__ import annotations

import json

import imageio.v2 as imageio
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from user_envs import ref

from worldplan.byo import resolve_env
from worldplan.byo.lerobot_io import export_lerobot
from worldplan.byo.lerobot_read import import_lerobot
from worldplan.data.collect import collect
from worldplan.data.episodes import DatasetError, EpisodeDataset


def _dataset(tmp_path) -> EpisodeDataset:
    return collect(*resolve_env({"id": ref("SettableSlide"), "image_size": 16}), tmp_path / "ds", episodes=3,
                   steps=4, policy="random", seed=2, noise=0.0, progress=False)


def _mp4(path, frames) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, format="FFMPEG", fps=10, codec="libx264rgb", pixelformat="rgb24",
                            output_params=["-crf", "0"], macro_block_size=1, ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(frame)


def _foreign(root):
    """Two episodes (3 and 4 frames) in one data file and one video per camera, the LeRobot way."""
    lengths, frames = [3, 4], np.random.default_rng(0).integers(0, 255, (7, 8, 8, 3), dtype=np.uint8)
    actions = np.arange(14, dtype=np.float32).reshape(7, 2) / 10 - 0.5
    data = {"action": pa.FixedSizeListArray.from_arrays(pa.array(actions.reshape(-1)), 2),
            "timestamp": pa.array([0, 0.1, 0.2, 0, 0.1, 0.2, 0.3], pa.float32()),
            "frame_index": pa.array([0, 1, 2, 0, 1, 2, 3], pa.int64()),
            "episode_index": pa.array([0, 0, 0, 1, 1, 1, 1], pa.int64()),
            "index": pa.array(range(7), pa.int64()), "task_index": pa.array([0] * 7, pa.int64())}
    (root / "data/chunk-000").mkdir(parents=True)
    pq.write_table(pa.table(data), root / "data/chunk-000/file-000.parquet")
    for camera in ("observation.images.top", "observation.images.wrist"):
        _mp4(root / f"videos/{camera}/chunk-000/file-000.mp4", frames)
    episodes = [{"episode_index": i, "tasks": ["push"], "length": n, "data/chunk_index": 0, "data/file_index": 0,
                 "dataset_from_index": start, "dataset_to_index": start + n,
                 **{f"videos/{c}/{k}": v for c in ("observation.images.top", "observation.images.wrist")
                    for k, v in (("chunk_index", 0), ("file_index", 0), ("from_timestamp", start / 10),
                                 ("to_timestamp", (start + n) / 10))}}
                for i, (n, start) in enumerate(zip(lengths, [0, 3], strict=True))]
    (root / "meta/episodes/chunk-000").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(episodes), root / "meta/episodes/chunk-000/file-000.parquet")
    video = {"dtype": "video", "shape": [8, 8, 3], "names": ["height", "width", "channels"]}
    features = {"observation.images.top": video, "observation.images.wrist": video,
                "action": {"dtype": "float32", "shape": [2], "names": None}}
    info = {"codebase_version": "v3.0", "fps": 10, "features": features, "robot_type": "arm",
            "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
            "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"}
    (root / "meta/info.json").write_text(json.dumps(info))
    return frames, actions


def test_export_then_import_gives_the_identical_dataset(tmp_path):
    original = _dataset(tmp_path)
    export_lerobot(original.path, tmp_path / "lerobot")
    import_lerobot(tmp_path / "lerobot", tmp_path / "back")
    back = EpisodeDataset.open(tmp_path / "back")
    assert back.meta.to_json() == original.meta.to_json()
    for i in range(len(original)):
        for name in ("frames", "actions", "states"):
            np.testing.assert_array_equal(getattr(back[i], name), getattr(original[i], name))


def test_export_writes_the_v3_index_and_one_row_per_frame(tmp_path):
    original = _dataset(tmp_path)
    export_lerobot(original.path, tmp_path / "lerobot")
    info = json.loads((tmp_path / "lerobot/meta/info.json").read_text())
    episodes = pq.read_table(tmp_path / "lerobot/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert info["codebase_version"] == "v3.0" and info["total_frames"] == original.meta.num_frames
    assert [e["dataset_to_index"] - e["dataset_from_index"] for e in episodes] == [n + 1 for n in original.lengths]
    rows = pq.read_table(tmp_path / "lerobot/data/chunk-000/file-001.parquet")
    assert rows["index"].to_pylist() == list(range(episodes[1]["dataset_from_index"], episodes[1]["dataset_to_index"]))


def test_drop_last_loses_the_last_frame_and_says_so(tmp_path):
    original = _dataset(tmp_path)
    report = export_lerobot(original.path, tmp_path / "lerobot", last_frame="drop_last")
    import_lerobot(tmp_path / "lerobot", tmp_path / "back")
    assert EpisodeDataset.open(tmp_path / "back").lengths == [n - 1 for n in original.lengths]
    assert "last frame of each episode" in report.not_carried


def test_foreign_dataset_with_episodes_sharing_files_imports_each_segment(tmp_path):
    frames, actions = _foreign(tmp_path / "src")
    report = import_lerobot(tmp_path / "src", tmp_path / "out")
    ds = EpisodeDataset.open(tmp_path / "out")
    assert ds.lengths == [2, 3] and ds.meta.state_dim == 0 and ds.meta.fps == 10
    np.testing.assert_array_equal(ds[1].frames, frames[3:])
    np.testing.assert_array_equal(ds[1].actions, actions[3:6])
    np.testing.assert_array_equal(ds.meta.action_low, actions.min(0))
    assert {"observation.images.wrist", "states", "seeds"} <= set(report.not_carried)


@pytest.mark.parametrize("change, message", [(lambda info: info.update(codebase_version="v2.1"), "v3"),
                                             (lambda info: info["features"].pop("action"), "action"),
                                             (lambda info: info.pop("features"), "features")])
def test_unsupported_or_incomplete_datasets_are_clear_errors(tmp_path, change, message):
    _foreign(tmp_path / "src")
    info = json.loads((tmp_path / "src/meta/info.json").read_text())
    change(info)
    (tmp_path / "src/meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=message):
        import_lerobot(tmp_path / "src", tmp_path / "out")


def test_missing_episode_columns_are_named(tmp_path):
    _foreign(tmp_path / "src")
    path = tmp_path / "src/meta/episodes/chunk-000/file-000.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["dataset_from_index"]), path)
    with pytest.raises(DatasetError, match="dataset_from_index"):
        import_lerobot(tmp_path / "src", tmp_path / "out")
