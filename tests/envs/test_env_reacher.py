"""Reacher: fingertip kinematics match MuJoCo; the suite's target is hidden."""

from __future__ import annotations

from collections.abc import Iterator

import mujoco
import numpy as np
import pytest

from worldplan.envs.reacher import ReacherEnv, fingertip


@pytest.fixture(scope="module")
def reacher() -> Iterator[ReacherEnv]:
    env = ReacherEnv(image_size=16)
    yield env
    env.close()


def test_fingertip_matches_mujoco_kinematics(reacher: ReacherEnv) -> None:
    finger = mujoco.mj_name2id(reacher.model, mujoco.mjtObj.mjOBJ_GEOM, "finger")
    rng = np.random.default_rng(0)
    for _ in range(5):
        state = np.array([*rng.uniform(-2.5, 2.5, size=2), 0.0, 0.0], dtype=np.float32)
        reacher.set_state(state)
        np.testing.assert_allclose(fingertip(state), reacher.data.geom_xpos[finger][:2], atol=1e-6)


def test_state_distance_is_fingertip_distance(reacher: ReacherEnv) -> None:
    straight = np.array([0.0, 0.0, 0.0, 0.0], dtype=np.float32)
    folded = np.array([0.0, np.pi / 2, 0.0, 0.0], dtype=np.float32)
    assert reacher.state_distance(straight, folded) == pytest.approx(np.hypot(0.12, 0.12))
    spun = straight + np.array([2 * np.pi, 0, 0, 0], dtype=np.float32)
    assert reacher.is_success(spun, straight)


def test_suite_target_is_invisible(reacher: ReacherEnv) -> None:
    target = mujoco.mj_name2id(reacher.model, mujoco.mjtObj.mjOBJ_GEOM, "target")
    assert reacher.model.geom_rgba[target, 3] == 0.0
