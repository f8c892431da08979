"""The episode dataset format: round trip, running statistics, validation errors, crash-safe writer."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from worldplan.data.episodes import FORMAT_VERSION, DatasetError, DatasetMeta, Episode, EpisodeDataset, EpisodeWriter
from worldplan.data.stats import RunningStats

SIZE, ACTION_DIM, STATE_DIM = 8, 2, 3


def make_meta(**changes) -> DatasetMeta:
    settings = dict(env_id="worldplan_test/Point-v0", env_kwargs={"image_size": SIZE}, image_size=SIZE,
                    action_low=[-1.0, -1.0], action_high=[1.0, 1.0], state_dim=STATE_DIM, fps=10.0,
                    policy="random", noise=0.0, max_steps=5, base_seed=0)
    return DatasetMeta(**{**settings, **changes})


def make_episode(length: int, seed: int) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(frames=rng.integers(0, 256, (length + 1, SIZE, SIZE, 3), dtype=np.uint8),
                   actions=rng.uniform(-1, 1, (length, ACTION_DIM)).astype(np.float32),
                   states=rng.normal(size=(length + 1, STATE_DIM)).astype(np.float32), seed=seed)


@pytest.fixture
def written(tmp_path):
    """A dataset of three episodes (lengths 5, 3, 4) and the episodes written."""
    episodes = [make_episode(length, seed) for seed, length in enumerate((5, 3, 4))]
    writer = EpisodeWriter(tmp_path / "ds", make_meta())
    for episode in episodes:
        writer.add(episode)
    return tmp_path / "ds", episodes


def test_running_stats_match_numpy_over_all_batches():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (n, 4)) for n in (1, 7, 0, 30)]
    stats = RunningStats.empty(4)
    for batch in batches:
        stats.update(batch)
    data = np.concatenate(batches)
    np.testing.assert_allclose(stats.mean, data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.std, data.std(0), rtol=1e-12)
    restored = RunningStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert restored.count == 38 and np.array_equal(restored.m2, stats.m2)


def test_round_trip_returns_the_written_arrays_memory_mapped(written):
    path, episodes = written
    ds = EpisodeDataset.open(path)
    assert len(ds) == 3 and ds.lengths == [5, 3, 4]
    for i, episode in enumerate(episodes):
        got = ds[i]
        assert isinstance(got.frames, np.memmap) and got.seed == episode.seed
        for name in ("frames", "actions", "states"):
            np.testing.assert_array_equal(getattr(got, name), getattr(episode, name))
    np.testing.assert_array_equal(ds[-1].actions, episodes[-1].actions)
    with pytest.raises(IndexError):
        ds[3]


def test_meta_statistics_cover_all_actions_and_states(written):
    path, episodes = written
    meta = EpisodeDataset.open(path).meta
    for key, name in (("action", "actions"), ("state", "states")):
        data = np.concatenate([getattr(e, name) for e in episodes]).astype(np.float64)
        mean, std = meta.normalisation(key)
        np.testing.assert_allclose(mean, data.mean(0), rtol=1e-5)
        np.testing.assert_allclose(std, data.std(0), rtol=1e-5)
    assert meta.num_frames == 6 + 4 + 5


def test_truncated_npy_names_the_file(written):
    path, _ = written
    target = path / "episodes" / "ep_000001" / "frames.npy"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="ep_000001/frames.npy is truncated"):
        EpisodeDataset.open(path)


def test_missing_npy_names_the_file(written):
    path, _ = written
    (path / "episodes" / "ep_000002" / "states.npy").unlink()
    with pytest.raises(DatasetError, match="ep_000002/states.npy is missing"):
        EpisodeDataset.open(path)


def test_npy_of_wrong_shape_is_rejected(written):
    path, _ = written
    np.save(path / "episodes" / "ep_000000" / "actions.npy", np.zeros((5, 3), np.float32))
    with pytest.raises(DatasetError, match=r"actions.npy holds float32 \(5, 3\); expected float32 \(5, 2\)"):
        EpisodeDataset.open(path)


@pytest.mark.parametrize(("name", "value", "step"), [("actions", np.nan, 2), ("states", np.inf, 1)])
def test_non_finite_values_name_the_episode_field_and_step(written, name, value, step):
    path, episodes = written
    EpisodeDataset.open(path).check_values()  # the written episodes are finite
    array = getattr(episodes[1], name).copy()
    array[step, 0] = value
    np.save(path / "episodes" / "ep_000001" / f"{name}.npy", array)
    dataset = EpisodeDataset.open(path)  # headers and sizes are still right
    with pytest.raises(DatasetError, match=rf"ep_000001/{name}.npy holds non-finite {name} .*first at step {step}"):
        dataset.check_values()


def test_corrupt_meta_json_names_the_file(written):
    path, _ = written
    (path / "meta.json").write_text('{"format": "worldplan-episodes", "format_ver')
    with pytest.raises(DatasetError, match="meta.json is corrupt"):
        EpisodeDataset.open(path)


def test_other_format_version_names_both_versions(written):
    path, _ = written
    meta = json.loads((path / "meta.json").read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=f"format version {FORMAT_VERSION + 1}.*reads version {FORMAT_VERSION}"):
        EpisodeDataset.open(path)


def test_dataset_of_another_env_names_both_ids(written):
    path, _ = written
    with pytest.raises(DatasetError, match="'worldplan_test/Point-v0', expected 'worldplan/Wall-v0'"):
        EpisodeDataset.open(path, env_id="worldplan/Wall-v0")


def test_directory_without_dataset_is_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match="meta.json not found"):
        EpisodeDataset.open(tmp_path)


def test_writer_refuses_a_directory_of_unrelated_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty but holds no meta.json"):
        EpisodeWriter(tmp_path, make_meta())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_writer_refuses_a_dataset_of_other_settings(written):
    path, _ = written
    with pytest.raises(DatasetError, match="base_seed: dataset has 0, asked 7"):
        EpisodeWriter(path, make_meta(base_seed=7))
    assert len(EpisodeDataset.open(path)) == 3


def test_writer_rejects_an_episode_of_the_wrong_shape(tmp_path):
    writer = EpisodeWriter(tmp_path / "ds", make_meta())
    bad = make_episode(4, 0)
    bad.states = bad.states[:, :2].copy()
    with pytest.raises(ValueError, match="episode states is float32 \\(5, 2\\)"):
        writer.add(bad)


def test_resumed_writer_drops_leftovers_and_keeps_listed_episodes(written):
    path, episodes = written
    shutil.copytree(path / "episodes" / "ep_000002", path / "episodes" / "ep_000003")  # renamed, not listed
    (path / "episodes" / ".tmp-ep_000004-1").mkdir()                                   # killed mid-write
    writer = EpisodeWriter(path, make_meta())
    assert len(writer) == 3
    assert sorted(p.name for p in (path / "episodes").iterdir()) == ["ep_000000", "ep_000001", "ep_000002"]
    writer.add(make_episode(2, 9))
    ds = EpisodeDataset.open(path)
    assert ds.lengths == [5, 3, 4, 2]
    np.testing.assert_array_equal(ds[1].frames, episodes[1].frames)
