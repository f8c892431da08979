"""Every registered worldplan env passes Gymnasium's checker; bad ids and sizes fail clearly."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from worldplan.envs import ENV_IDS, make_goal_env
from worldplan.envs.wall import WallEnv


def test_registry_holds_the_four_goal_envs() -> None:
    names = {env_id for env_id in gym.registry if env_id.startswith("worldplan/")}
    assert set(ENV_IDS) <= names
    expected = {f"worldplan/{name}-v0" for name in ("Wall", "PointMaze", "Reacher", "PushT")}
    assert expected <= names


def test_check_env_passes_without_warnings(env_id: str) -> None:
    env = gym.make(env_id, image_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Gymnasium checker warning fails the test
        check_env(env.unwrapped)
    env.close()


def test_unknown_env_id_names_the_missing_env() -> None:
    with pytest.raises(gym.error.NameNotFound, match="Nope"):
        gym.make("worldplan/Nope-v0")


def test_make_goal_env_lists_registered_ids_for_unknown_id() -> None:
    with pytest.raises(ValueError, match="worldplan/Wall-v0"):
        make_goal_env("worldplan/Nope-v0")


@pytest.mark.parametrize("bad_size", [4, 0, -64, 64.0, "64", None, True])
def test_bad_image_size_is_a_value_error_naming_it(env_id: str, bad_size: object) -> None:
    with pytest.raises(ValueError, match="image_size"):
        make_goal_env(env_id, image_size=bad_size)


def test_unknown_render_mode_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="render_mode"):
        WallEnv(render_mode="depth_array")


def test_importing_worldplan_envs_loads_no_simulator() -> None:
    code = (
        "import sys, worldplan, worldplan.envs, gymnasium; "
        "assert 'worldplan/Wall-v0' in gymnasium.registry; "
        "print(sorted(m for m in ('mujoco', 'pygame', 'dm_control', 'gym_pusht') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_rendering_mujoco_then_importing_triton_does_not_crash() -> None:
    pytest.importorskip("triton")
    code = (
        "import gymnasium, worldplan.envs; "
        "env = gymnasium.make('worldplan/PointMaze-v0', image_size=16); env.reset(seed=0); env.render(); "
        "import triton; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
