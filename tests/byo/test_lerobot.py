"""LeRobot v3.0 export and import, checked against ``lerobot-dataset`` (the standalone ``LeRobotDataset``
of the lerobot project, a dev dependency): it writes the foreign datasets and loads worldplan's exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from byo_helpers import assert_same_dataset
from ledataset.datasets.lerobot_dataset import LeRobotDataset
from user_envs import ref

from worldplan.byo import resolve_env
from worldplan.byo.lerobot_io import export_lerobot
from worldplan.byo.lerobot_read import import_lerobot
from worldplan.data.collect import collect
from worldplan.data.episodes import DatasetError, EpisodeDataset

TOP, WRIST = "observation.images.top", "observation.images.wrist"
SIDE = 32  # SVT-AV1, LeRobot's default video codec, crashes on 16 px frames
LENGTHS = [3, 4]
VIDEO_TOLERANCE = 8  # lossy AV1 yuv420p; the test frames are 30 grey levels apart


def _dataset(tmp_path) -> EpisodeDataset:
    return collect(*resolve_env({"id": ref("SettableSlide"), "image_size": 16}), tmp_path / "ds", episodes=3,
                   steps=4, policy="random", seed=2, noise=0.0, progress=False)


def _frames(count: int) -> np.ndarray:
    """(count, SIDE, SIDE, 3) uint8 flat-coloured frames, far enough apart to survive lossy video."""
    levels = 20 + 30 * np.arange(count)
    colours = np.stack([levels, 255 - levels, np.full(count, 128)], -1).astype(np.uint8)
    return np.ascontiguousarray(np.broadcast_to(colours[:, None, None], (count, SIDE, SIDE, 3)))


def _feature(values: np.ndarray, camera_dtype: str) -> dict:
    """The LeRobot feature of one column: uint8 rows are camera frames, float32 rows vectors."""
    if values.dtype == np.uint8:
        return {"dtype": camera_dtype, "shape": values.shape[1:], "names": ["height", "width", "channels"]}
    return {"dtype": "float32", "shape": values.shape[1:], "names": None}


def _write_lerobot(root: Path, columns: dict[str, np.ndarray], *, camera_dtype: str = "video") -> None:
    """Write ``columns`` (feature key -> one row per frame) as episodes of LENGTHS frames with LeRobotDataset."""
    features = {key: _feature(values, camera_dtype) for key, values in columns.items()}
    dataset = LeRobotDataset.create(repo_id="local/foreign", root=root, fps=10, features=features, robot_type="arm",
                                    use_videos=camera_dtype == "video")
    bounds = np.cumsum([0, *LENGTHS])
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        for row in range(start, end):
            dataset.add_frame({**{key: values[row] for key, values in columns.items()}, "task": "push"})
        dataset.save_episode(parallel_encoding=False)
    dataset.finalize()


def _actions(dim: int) -> np.ndarray:
    """(sum(LENGTHS), dim) float32 distinct actions, one per frame."""
    return (np.arange(sum(LENGTHS) * dim, dtype=np.float32).reshape(-1, dim) / 10 - 0.5).astype(np.float32)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A LeRobot dataset of two episodes (3 and 4 frames), two AV1 cameras and 2-d actions: (root, frames, actions)."""
    root, frames, actions = tmp_path_factory.mktemp("foreign") / "src", _frames(sum(LENGTHS)), _actions(2)
    _write_lerobot(root, {TOP: frames, WRIST: frames[::-1].copy(), "action": actions})
    return root, frames, actions


def _copy(foreign, tmp_path) -> Path:
    """A copy of the foreign dataset that a test may corrupt."""
    return Path(shutil.copytree(foreign[0], tmp_path / "src"))


def test_export_then_import_gives_the_identical_dataset(tmp_path):
    original = _dataset(tmp_path)
    export_lerobot(original.path, tmp_path / "lerobot")
    import_lerobot(tmp_path / "lerobot", tmp_path / "back")
    assert_same_dataset(EpisodeDataset.open(tmp_path / "back"), original)


def test_export_writes_the_v3_index_and_one_row_per_frame(tmp_path):
    original = _dataset(tmp_path)
    export_lerobot(original.path, tmp_path / "lerobot")
    info = json.loads((tmp_path / "lerobot/meta/info.json").read_text())
    episodes = pq.read_table(tmp_path / "lerobot/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert info["codebase_version"] == "v3.0" and info["total_frames"] == original.meta.num_frames
    assert [e["dataset_to_index"] - e["dataset_from_index"] for e in episodes] == [n + 1 for n in original.lengths]
    rows = pq.read_table(tmp_path / "lerobot/data/chunk-000/file-001.parquet")
    assert rows["index"].to_pylist() == list(range(episodes[1]["dataset_from_index"], episodes[1]["dataset_to_index"]))


def test_lerobot_dataset_loads_the_export_with_its_actions_and_states(tmp_path):
    original = _dataset(tmp_path)
    export_lerobot(original.path, tmp_path / "lerobot")
    loaded = LeRobotDataset("local/export", root=tmp_path / "lerobot")
    rows = loaded.hf_dataset.with_format("numpy")
    assert loaded.num_episodes == len(original) and loaded.num_frames == original.meta.num_frames
    assert loaded.meta.video_keys == ["observation.image"]
    episodes = [original[i] for i in range(len(original))]
    actions = np.concatenate([np.concatenate([ep.actions, ep.actions[-1:]]) for ep in episodes])  # repeat_last
    states = np.concatenate([ep.states for ep in episodes])
    np.testing.assert_array_equal(np.reshape(rows["action"], actions.shape), actions)
    np.testing.assert_array_equal(np.reshape(rows["observation.state"], states.shape), states)


def test_drop_last_loses_the_last_frame_and_says_so(tmp_path):
    original = _dataset(tmp_path)
    report = export_lerobot(original.path, tmp_path / "lerobot", last_frame="drop_last")
    import_lerobot(tmp_path / "lerobot", tmp_path / "back")
    assert EpisodeDataset.open(tmp_path / "back").lengths == [n - 1 for n in original.lengths]
    assert "last frame of each episode" in report.not_carried


def test_foreign_episodes_share_one_data_file_and_one_video_per_camera(foreign):
    files = sorted(str(p.relative_to(foreign[0])) for p in foreign[0].rglob("*") if p.suffix in (".parquet", ".mp4"))
    assert files == ["data/chunk-000/file-000.parquet", "meta/episodes/chunk-000/file-000.parquet",
                     "meta/tasks.parquet", f"videos/{TOP}/chunk-000/file-000.mp4",
                     f"videos/{WRIST}/chunk-000/file-000.mp4"]
    assert json.loads((foreign[0] / "meta/info.json").read_text())["codebase_version"] == "v3.0"


def test_foreign_dataset_with_episodes_sharing_files_imports_each_segment(foreign, tmp_path):
    root, frames, actions = foreign
    report = import_lerobot(root, tmp_path / "out")
    ds = EpisodeDataset.open(tmp_path / "out")
    assert ds.lengths == [n - 1 for n in LENGTHS] and ds.meta.state_dim == 0 and ds.meta.fps == 10
    np.testing.assert_allclose(ds[1].frames, frames[3:], atol=VIDEO_TOLERANCE)
    np.testing.assert_array_equal(ds[1].actions, actions[3:6])
    np.testing.assert_array_equal(ds.meta.action_low, actions.min(0))
    assert {WRIST, "states", "seeds"} <= set(report.not_carried)


def test_foreign_scalar_action_and_state_columns_import(tmp_path):
    actions, states = _actions(1), _actions(1)[::-1].copy()
    _write_lerobot(tmp_path / "src", {TOP: _frames(sum(LENGTHS)), "observation.state": states, "action": actions})
    import_lerobot(tmp_path / "src", tmp_path / "out")
    ds = EpisodeDataset.open(tmp_path / "out")
    assert ds.meta.state_dim == 1 and ds.meta.action_dim == 1
    np.testing.assert_array_equal(ds[1].actions, actions[3:6])
    np.testing.assert_array_equal(ds[1].states, states[3:])


def test_foreign_image_features_import_losslessly(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (sum(LENGTHS), SIDE, SIDE, 3), dtype=np.uint8)
    _write_lerobot(tmp_path / "src", {TOP: frames, "action": _actions(2)}, camera_dtype="image")
    import_lerobot(tmp_path / "src", tmp_path / "out")
    ds = EpisodeDataset.open(tmp_path / "out")
    np.testing.assert_array_equal(np.concatenate([ds[0].frames, ds[1].frames]), frames)


@pytest.mark.parametrize("change, message", [(lambda info: info.update(codebase_version="v2.1"), "v3"),
                                             (lambda info: info["features"].pop("action"), "action"),
                                             (lambda info: info.pop("features"), "features")])
def test_unsupported_or_incomplete_datasets_are_clear_errors(foreign, tmp_path, change, message):
    root = _copy(foreign, tmp_path)
    info = json.loads((root / "meta/info.json").read_text())
    change(info)
    (root / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=message):
        import_lerobot(root, tmp_path / "out")


def test_missing_episode_columns_are_named(foreign, tmp_path):
    root = _copy(foreign, tmp_path)
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["dataset_from_index"]), path)
    with pytest.raises(DatasetError, match="dataset_from_index"):
        import_lerobot(root, tmp_path / "out")
