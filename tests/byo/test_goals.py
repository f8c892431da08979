"""Goal sources: walked (policy or the env's), image file, settable state, dataset frame."""

from __future__ import annotations

import logging

import imageio.v3 as iio
import numpy as np
import pytest
from byo_helpers import adapted
from user_envs import ref

from worldplan.byo import resolve_env
from worldplan.byo.inner import StateNotSettableError
from worldplan.data.collect import collect
from worldplan.evaluate.goals import sample_goal_task


def test_random_walk_on_an_unsettable_env_returns_to_the_start_by_replaying_reset():
    env = adapted("Slide")
    task = sample_goal_task(env, seed=3, offset=4)
    np.testing.assert_array_equal(env.get_state(), task.start_state)
    assert not np.array_equal(task.goal_state, task.start_state)


def test_policy_goal_walks_the_user_policy_offset_steps():
    env = adapted("Slide")
    task = sample_goal_task(env, 1, 3, source="policy", params={"policy": ref("push_right")})
    np.testing.assert_allclose(task.goal_state, task.start_state + 0.3, atol=1e-6)
    assert np.all(task.goal_image[..., 0] == round((task.goal_state[0] + 1) * 100))


def test_image_goal_is_loaded_resized_with_a_warning_naming_both_sizes(tmp_path, caplog):
    path = tmp_path / "goal.png"
    iio.imwrite(path, np.full((40, 30, 3), 77, np.uint8))  # 30 wide, 40 high
    env = adapted("Slide", image_size=16)
    with caplog.at_level(logging.WARNING, logger="worldplan.byo.images"):
        task = sample_goal_task(env, 0, 5, source="image", params={"image": str(path)})
    assert task.goal_image.shape == (16, 16, 3) and np.all(task.goal_image == 77)
    assert np.all(np.isnan(task.goal_state))
    assert "is 30x40 px (width x height) but the env's frames are 16x16 px: resized and stretched" in caplog.text


def test_image_goal_of_the_env_frame_size_is_used_untouched_without_a_warning(tmp_path, caplog):
    path = tmp_path / "goal.png"
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    iio.imwrite(path, image)
    with caplog.at_level(logging.WARNING, logger="worldplan.byo.images"):
        task = sample_goal_task(adapted("Slide", image_size=16), 0, 5, source="image", params={"image": str(path)})
    np.testing.assert_array_equal(task.goal_image, image)
    assert not caplog.records


def test_image_goal_needs_latent_success(tmp_path):
    env = adapted("Slide", success=ref("close_enough"))
    iio.imwrite(tmp_path / "goal.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="no goal state"):
        sample_goal_task(env, 0, 5, source="image", params={"image": str(tmp_path / "goal.png")})


def test_state_goal_renders_the_given_state():
    env = adapted("SettableSlide")
    task = sample_goal_task(env, 0, 5, source="state", params={"state": [0.5]})
    assert np.all(task.goal_image[..., 0] == 150)
    np.testing.assert_array_equal(env.get_state(), task.start_state)


def test_state_goal_on_an_unsettable_env_says_what_to_implement():
    with pytest.raises(StateNotSettableError, match="set_state"):
        sample_goal_task(adapted("Slide"), 0, 5, source="state", params={"state": [0.5]})


def test_dataset_goal_starts_offset_steps_before_the_goal_frame(tmp_path):
    cfg = {"id": ref("SettableSlide"), "image_size": 16}
    dataset = collect(*resolve_env(cfg), tmp_path / "ds", episodes=2, steps=6, policy="random", seed=0,
                      noise=0.0, progress=False)
    env = adapted("SettableSlide")
    task = sample_goal_task(env, 0, 2, source="dataset", params={"dataset": str(dataset.path), "episode": 1,
                                                                  "step": 5})
    episode = dataset[1]
    np.testing.assert_array_equal(task.goal_image, episode.frames[5])
    np.testing.assert_array_equal(task.start_state, episode.states[3])
    np.testing.assert_array_equal(env.render(), episode.frames[3])


def test_dataset_goal_step_outside_the_episode_is_refused(tmp_path):
    cfg = {"id": ref("SettableSlide"), "image_size": 16}
    dataset = collect(*resolve_env(cfg), tmp_path / "ds", episodes=1, steps=4, policy="random", seed=0,
                      noise=0.0, progress=False)
    with pytest.raises(ValueError, match="goal.step=1"):
        sample_goal_task(adapted("SettableSlide"), 0, 2, source="dataset",
                         params={"dataset": str(dataset.path), "step": 1})


def test_missing_parameter_and_unknown_source_are_clear_errors():
    with pytest.raises(ValueError, match="goal.image="):
        sample_goal_task(adapted("Slide"), 0, 5, source="image", params={})
    with pytest.raises(ValueError, match="not one of"):
        sample_goal_task(adapted("Slide"), 0, 5, source="teleport")
    with pytest.raises(ValueError, match="goal.image=missing.png: no such file"):
        sample_goal_task(adapted("Slide"), 0, 5, source="image", params={"image": "missing.png"})
