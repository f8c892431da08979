"""Minari import (datasets made with minari.DataCollector) and export, streamed episode by episode."""

from __future__ import annotations

import warnings

import minari
import numpy as np
import pytest
from byo_helpers import adapted, assert_same_dataset
from user_envs import SettableSlide, Slide, ref

from worldplan.byo import resolve_env
from worldplan.byo.inner import StateNotSettableError
from worldplan.byo.minari_io import export_minari, import_minari
from worldplan.data.collect import collect
from worldplan.data.episodes import EpisodeDataset


@pytest.fixture(autouse=True)
def _minari_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))


def _record(env, dataset_id: str, *, episodes: int = 2, steps: int = 5) -> None:
    """Collect random episodes of ``env`` with minari.DataCollector and create the dataset."""
    collector = minari.DataCollector(env, record_infos=True, data_format="arrow")
    for i in range(episodes):
        collector.reset(seed=10 + i)
        for _ in range(steps):
            collector.step(np.array([0.5 - i], np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collector.create_dataset(dataset_id=dataset_id, algorithm_name="test")


def _worldplan_dataset(tmp_path) -> EpisodeDataset:
    return collect(*resolve_env({"id": ref("SettableSlide"), "image_size": 16}), tmp_path / "ds", episodes=3,
                   steps=4, policy="random", seed=1, noise=0.0, progress=False)


def test_export_then_import_gives_the_identical_dataset(tmp_path):
    original = _worldplan_dataset(tmp_path)
    export_minari(str(original.path), "test/slide/random-v0")
    import_minari("test/slide/random-v0", str(tmp_path / "back"))
    assert_same_dataset(EpisodeDataset.open(tmp_path / "back"), original)


def test_pixel_dataset_imports_frames_and_info_states(tmp_path):
    env = adapted("SettableSlide", image_size=16)
    _record(env, "test/pixels-v0")
    report = import_minari("test/pixels-v0", str(tmp_path / "out"))
    ds = EpisodeDataset.open(tmp_path / "out")
    assert (len(ds), ds.lengths, ds.meta.image_size, ds.meta.state_dim) == (2, [5, 5], 16, 1)
    assert [ep["seed"] for ep in ds.meta.episodes] == [10, 11]
    x = ds[0].states[:, 0]
    assert np.all(np.abs(ds[0].frames[:, 0, 0, 0] - np.round((x + 1) * 100)) <= 1)  # JPEG-stored by Minari
    assert "env_reward" in report.not_carried["infos"]  # the adapter's info key besides the state


def test_state_only_dataset_is_rendered_by_setting_the_env(tmp_path):
    _record(SettableSlide(), "test/states-v0")
    render_env = {"id": ref("SettableSlide")}
    report = import_minari("test/states-v0", str(tmp_path / "out"), image_size=16, render_env=render_env)
    assert "rewards" in report.not_carried  # Slide's rewards are -|x|
    episode = EpisodeDataset.open(tmp_path / "out")[1]
    np.testing.assert_array_equal(episode.frames[:, 0, 0, 0], np.round((episode.states[:, 0] + 1) * 100))


def test_state_only_dataset_with_an_unsettable_env_is_refused(tmp_path):
    _record(Slide(), "test/unsettable-v0")
    with pytest.raises(StateNotSettableError, match="set_state"):
        import_minari("test/unsettable-v0", str(tmp_path / "out"), render_env={"id": ref("Slide")})


def test_rendering_with_an_env_of_other_actions_is_refused(tmp_path):
    _record(SettableSlide(), "test/actions-v0")
    with pytest.raises(ValueError, match="mismatched action spaces"):
        import_minari("test/actions-v0", str(tmp_path / "out"), render_env={"id": ref("WideSlide")})


def test_missing_dataset_says_where_minari_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="MINARI_DATASETS_PATH"):
        import_minari("test/nothing-v0", str(tmp_path / "out"))
