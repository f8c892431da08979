"""The adapter: any Gymnasium env (defined here, not registered by worldplan) as a GoalEnv."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from byo_helpers import adapted
from gymnasium.envs.registration import load_env_creator
from gymnasium.utils.env_checker import check_env
from user_envs import Slide, ref

from worldplan.byo import ADAPTER_GYM_ID, make_env, resolve_env
from worldplan.byo.inner import StateNotSettableError, first_frame, takes_render_size


def test_adapted_env_passes_gymnasium_check_env():
    check_env(adapted("SettableSlide"), skip_render_check=False)


def test_observation_is_the_render_resized_to_a_square():
    env = adapted("Slide", image_size=16)
    frame, info = env.reset(seed=3)
    assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8
    assert np.all(frame[..., 0] == round((env.inner.unwrapped.x + 1) * 100))  # a flat 8x12 render stays flat


def test_state_comes_from_the_observation_without_a_state_protocol():
    env = adapted("Slide")
    _, info = env.reset(seed=0)
    assert env.state_source == "observation" and not env.can_set_state
    np.testing.assert_array_equal(info["state"], [env.inner.unwrapped.x])


def test_state_comes_from_a_user_function_when_given():
    env = adapted("SettableSlide", state=ref("doubled_x"))
    _, info = env.reset(seed=0)
    assert env.state_source.startswith("user_function:")
    np.testing.assert_allclose(info["state"], [2 * env.inner.unwrapped.x, 1.0])


@pytest.mark.parametrize("name", ["SettableSlide", "SettableWrapper"])
def test_set_state_round_trips_and_renders_that_state(name):
    env = adapted(name)
    env.reset(seed=0)
    env.set_state(np.array([0.25], np.float32))
    np.testing.assert_array_equal(env.get_state(), [0.25])
    assert np.all(env.render()[..., 0] == 125)


def test_unsettable_env_accepts_only_its_current_state():
    env = adapted("Slide")
    _, info = env.reset(seed=0)
    env.set_state(info["state"])  # a no-op
    with pytest.raises(StateNotSettableError, match="get_state.*set_state"):
        env.set_state(info["state"] + 0.5)


def test_env_without_rgb_rendering_is_refused_with_what_to_implement():
    with pytest.raises(ValueError, match="rgb_array"):
        adapted("NoPixels").reset(seed=0)


def test_discrete_actions_are_refused():
    with pytest.raises(ValueError, match="continuous actions"):
        adapted("Discrete")


def test_same_seed_gives_the_same_rollout():
    runs = []
    for _ in range(2):
        env = adapted("Slide")
        frames = [env.reset(seed=7)[0]] + [env.step(np.array([0.5], np.float32))[0] for _ in range(3)]
        runs.append(np.stack(frames))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_user_success_function_decides_success():
    env = adapted("Slide", success=ref("close_enough"))
    assert env.success_source.startswith("user_function:") and math.isnan(env.success_threshold)
    assert env.is_success(np.array([0.5]), np.array([0.53]))
    assert not env.is_success(np.array([0.5]), np.array([0.6]))


def test_latent_threshold_is_a_fraction_of_the_start_distance():
    env = adapted("Slide", latent_threshold=0.2)
    env.reset(seed=0)
    assert env.success_source == "latent_threshold"
    distance = {"now": 1.0}
    env.set_latent_goal(lambda frame: distance["now"])  # the start frame is at distance 1
    distance["now"] = 0.25
    assert not env.is_success(env.get_state(), env.get_state())
    distance["now"] = 0.15
    assert env.is_success(env.get_state(), env.get_state())


def test_latent_success_without_an_attached_goal_says_so():
    env = adapted("Slide")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="set_latent_goal"):
        env.is_success(env.get_state(), env.get_state())


def test_registered_goal_envs_resolve_to_themselves():
    assert resolve_env({"id": "worldplan/Wall-v0", "kwargs": {"image_size": 32}}) == \
        ("worldplan/Wall-v0", {"image_size": 32})


def test_recorded_spec_recreates_the_same_env_with_gym_make():
    env_id, kwargs = resolve_env({"id": ref("Slide"), "image_size": 16})
    assert env_id == ADAPTER_GYM_ID and kwargs["env"] == ref("Slide")
    a, b = make_env({"id": ref("Slide"), "image_size": 16}), gym.make(env_id, **kwargs)
    np.testing.assert_array_equal(a.reset(seed=5)[0], b.reset(seed=5)[0])


def test_unknown_env_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown Gymnasium env id"):
        make_env({"id": "NoSuchEnv-v9"})
    with pytest.raises(ValueError, match="has no class"):
        make_env({"id": ref("Nope")})


def test_gymnasium_mujoco_envs_have_the_state_protocol_built_in():
    env = make_env({"id": "InvertedPendulum-v5", "image_size": 16, "kwargs": {"width": 32, "height": 32}}).unwrapped
    _, info = env.reset(seed=0)
    assert env.state_source == "mujoco qpos+qvel" and env.can_set_state and info["state"].shape == (4,)
    start, frame = info["state"].copy(), env.render()
    for _ in range(5):
        env.step(np.ones(1, np.float32))
    env.set_state(start)
    np.testing.assert_allclose(env.get_state(), start, atol=1e-6)
    np.testing.assert_array_equal(env.render(), frame)


def test_gymnasium_mujoco_envs_render_at_the_image_size():
    env = make_env({"id": "Reacher-v5", "image_size": 32}).unwrapped
    env.reset(seed=0)
    renderer = env.inner.unwrapped.mujoco_renderer
    assert (renderer.width, renderer.height) == (32, 32)
    assert first_frame(env.inner, "Reacher-v5").shape == (32, 32, 3)


def test_a_render_size_in_the_env_kwargs_is_kept():
    env = make_env({"id": "Reacher-v5", "image_size": 16, "kwargs": {"width": 48, "height": 40}}).unwrapped
    env.reset(seed=0)
    assert first_frame(env.inner, "Reacher-v5").shape == (40, 48, 3) and env.render().shape == (16, 16, 3)


def test_envs_that_take_no_render_size_get_none():
    pendulum = load_env_creator(gym.spec("Pendulum-v1").entry_point)
    assert not takes_render_size(pendulum) and not takes_render_size(Slide)
    env = make_env({"id": "Pendulum-v1", "image_size": 16}).unwrapped
    assert env.reset(seed=0)[0].shape == (16, 16, 3)
