"""Collection: seeding, policies, resume after a crash, and clear errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from point_env import ENV_ID

import worldplan.data.collect as collect_module
from worldplan.commands.datasets import describe
from worldplan.data.collect import collect, episode_seed
from worldplan.data.episodes import DatasetError, EpisodeDataset
from worldplan.envs import make_env

KWARGS = {"image_size": 16}
PUSHT = "worldplan/PushT-v0"  # its proprioception is part of the state: the pusher's position and velocity


def run_collect(out, **changes) -> EpisodeDataset:
    settings = dict(episodes=4, steps=6, policy="random", seed=3, noise=0.3, progress=False)
    return collect(ENV_ID, KWARGS, out, **{**settings, **changes})


def assert_same_dataset(a: EpisodeDataset, b: EpisodeDataset) -> None:
    assert a.meta.to_json() == b.meta.to_json()
    for i in range(len(a)):
        for name in ("frames", "actions", "states"):
            np.testing.assert_array_equal(getattr(a[i], name), getattr(b[i], name))


def test_episode_seeds_are_deterministic_and_distinct():
    seeds = [episode_seed(0, i) for i in range(100)]
    assert seeds == [episode_seed(0, i) for i in range(100)]
    assert len(set(seeds)) == 100 and episode_seed(1, 0) != seeds[0]


def test_dataset_records_env_settings_and_seeds(tmp_path):
    ds = run_collect(tmp_path / "ds")
    assert len(ds) == 4 and ds.lengths == [6] * 4 and ds[0].frames.shape == (7, 16, 16, 3)
    assert ds.meta.image_size == 16 and ds.meta.state_dim == 2 and ds.meta.fps == 10.0
    assert [e["seed"] for e in ds.meta.episodes] == [episode_seed(3, i) for i in range(4)]
    first_state = ds[0].states[0]
    _, info = make_env(ENV_ID, KWARGS).reset(seed=ds.meta.episodes[0]["seed"])
    np.testing.assert_array_equal(first_state, info["state"])


def test_random_actions_stay_in_bounds_and_frames_follow_states(tmp_path):
    ds = run_collect(tmp_path / "ds", episodes=2, steps=30)
    actions = np.concatenate([ds[i].actions for i in range(2)])
    assert actions.min() >= -1 and actions.max() <= 1 and actions.std() > 0.4
    env = make_env(ENV_ID, KWARGS).unwrapped
    env.set_state(ds[1].states[17])
    np.testing.assert_array_equal(env.render(), ds[1].frames[17])


def test_goal_directed_without_noise_is_the_env_goal_policy(tmp_path):
    ds = run_collect(tmp_path / "ds", episodes=1, policy="goal_directed", noise=0.0)
    episode = ds[0]
    expected = np.clip((0.5 - episode.states[:-1]) * 5, -1, 1)
    np.testing.assert_allclose(episode.actions, expected, atol=1e-6)


def test_same_seed_gives_identical_datasets(tmp_path):
    assert_same_dataset(run_collect(tmp_path / "a"), run_collect(tmp_path / "b"))
    other = run_collect(tmp_path / "c", seed=4)
    assert not np.array_equal(other[0].actions, run_collect(tmp_path / "a")[0].actions)


def test_interrupted_collection_resumes_to_the_uninterrupted_dataset(tmp_path, monkeypatch):
    reference = run_collect(tmp_path / "ref", episodes=6)
    real_run_episode = collect_module.run_episode
    calls = []

    def crash_on_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt("killed")
        return real_run_episode(*args, **kwargs)

    monkeypatch.setattr(collect_module, "run_episode", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        run_collect(tmp_path / "ds", episodes=6)
    partial = EpisodeDataset.open(tmp_path / "ds")
    assert len(partial) == 3
    kept = np.array(partial[2].frames)
    monkeypatch.setattr(collect_module, "run_episode", real_run_episode)
    resumed = run_collect(tmp_path / "ds", episodes=6)
    assert_same_dataset(resumed, reference)
    np.testing.assert_array_equal(resumed[2].frames, kept)


def _collect_pusht(out, episodes: int):
    return collect(PUSHT, KWARGS, out, episodes=episodes, steps=4, policy="random", seed=0, noise=0.0, progress=False)


def test_proprioception_is_stored_per_frame_with_its_statistics(tmp_path):
    ds = _collect_pusht(tmp_path / "ds", episodes=2)
    assert ds.meta.proprio_dim == 4 and ds[0].proprio.shape == (5, 4) and ds[0].proprio.dtype == np.float32
    for i in range(2):
        np.testing.assert_array_equal(ds[i].proprio, ds[i].states[:, [0, 1, 5, 6]])  # pusher x, y, vx, vy
    all_proprio = np.concatenate([ds[i].proprio for i in range(2)])
    mean, std = ds.meta.normalisation("proprio")
    np.testing.assert_allclose(mean, all_proprio.mean(0), rtol=1e-5)
    np.testing.assert_allclose(std, all_proprio.std(0), rtol=1e-4)
    assert "proprio   size 4" in describe(ds)


def test_an_env_without_proprioception_stores_none(tmp_path):
    ds = run_collect(tmp_path / "ds", episodes=1)
    assert ds.meta.proprio_dim == 0 and ds[0].proprio is None and "proprio" not in ds.meta.stats
    assert not (tmp_path / "ds" / "episodes" / "ep_000000" / "proprio.npy").exists()


def test_a_dataset_from_before_proprioception_reads_and_resumes_without_it(tmp_path):
    path = tmp_path / "ds"
    _collect_pusht(path, episodes=1)
    meta = json.loads((path / "meta.json").read_text())
    del meta["proprio_dim"], meta["stats"]["proprio"]
    (path / "meta.json").write_text(json.dumps(meta))
    (path / "episodes" / "ep_000000" / "proprio.npy").unlink()
    resumed = _collect_pusht(path, episodes=2)
    assert resumed.meta.proprio_dim == 0 and resumed[1].proprio is None and len(resumed) == 2
    resumed.check_values()


def test_extending_a_dataset_equals_collecting_it_at_once(tmp_path):
    run_collect(tmp_path / "ds", episodes=2)
    assert_same_dataset(run_collect(tmp_path / "ds", episodes=5), run_collect(tmp_path / "ref", episodes=5))


def test_unknown_env_id_lists_registered_worldplan_envs(tmp_path):
    listing = r"unknown env id 'worldplan/Nope-v0'; registered worldplan envs: \['worldplan/Wall-v0', "
    with pytest.raises(ValueError, match=listing):
        collect("worldplan/Nope-v0", {}, tmp_path / "ds", episodes=1, steps=2, policy="random", seed=0, noise=0.0)


@pytest.mark.parametrize("size", [0, -8, 4, "64", 12.5, True])
def test_bad_image_size_is_a_clear_error(tmp_path, size):
    with pytest.raises(ValueError, match="image_size must be an int >= "):
        collect(ENV_ID, {"image_size": size}, tmp_path / "ds", episodes=1, steps=2, policy="random", seed=0,
                noise=0.0, progress=False)
    assert not (tmp_path / "ds").exists()


def test_unknown_policy_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"unknown policy 'expert'; choose one of \['random', 'goal_directed'\]"):
        run_collect(tmp_path / "ds", policy="expert")


def test_collecting_into_a_dataset_of_another_env_names_both(tmp_path):
    run_collect(tmp_path / "ds", episodes=1)
    with pytest.raises(DatasetError, match=r"image_size: dataset has 16, asked 24"):
        collect(ENV_ID, {"image_size": 24}, tmp_path / "ds", episodes=1, steps=6, policy="random", seed=3,
                noise=0.3, progress=False)
