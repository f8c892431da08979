"""dm_control tasks by name, without a user wrapper."""

from __future__ import annotations

import numpy as np
import pytest

from worldplan.byo import make_env
from worldplan.byo.dmc import parse_task

CARTPOLE = {"id": "dmc:cartpole-swingup", "image_size": 16, "kwargs": {"render_size": 16}}


def test_dmc_task_state_is_the_physics_state_and_can_be_set():
    env = make_env(CARTPOLE).unwrapped
    frame, info = env.reset(seed=0)
    assert frame.shape == (16, 16, 3) and env.can_set_state
    np.testing.assert_array_equal(info["state"], env.inner.unwrapped._env.physics.get_state().astype(np.float32))
    start = info["state"].copy()
    for _ in range(30):
        env.step(np.ones(1, np.float32))
    assert not np.array_equal(env.render(), frame)
    env.set_state(start)
    np.testing.assert_array_equal(env.render(), frame)
    np.testing.assert_array_equal(env.get_state(), start)


def test_dmc_control_rate_is_one_over_the_control_timestep():
    assert make_env(CARTPOLE).unwrapped.metadata["render_fps"] == pytest.approx(100.0)


def test_dmc_reset_seed_is_deterministic():
    a, b = make_env(CARTPOLE).unwrapped, make_env(CARTPOLE).unwrapped
    np.testing.assert_array_equal(a.reset(seed=4)[1]["state"], b.reset(seed=4)[1]["state"])


@pytest.mark.parametrize("name, message", [("dmc:cartpole", "dmc:<domain>-<task>"),
                                           ("dmc:cartpole-fly", "tasks of 'cartpole'"),
                                           ("dmc:nodomain-run", "domains")])
def test_bad_dmc_names_are_clear_errors(name, message):
    with pytest.raises(ValueError, match=message):
        parse_task(name)
