"""HeldRandomAction: a uniform action held for a bounded number of steps."""

from __future__ import annotations

import numpy as np
import pytest

from worldplan.envs.goal_policies import HeldRandomAction


def test_actions_are_held_between_min_and_max_steps() -> None:
    policy = HeldRandomAction(low=-np.ones(2), high=np.ones(2), min_hold=3, max_hold=5)
    rng = np.random.default_rng(0)
    actions = np.stack([policy(rng, np.zeros(2)) for _ in range(200)])
    changes = np.flatnonzero(np.any(np.diff(actions, axis=0) != 0, axis=1)) + 1
    runs = np.diff(np.concatenate([[0], changes]))
    assert runs.min() >= 3 and runs.max() <= 5
    assert np.all(np.abs(actions) <= 1.0) and actions.dtype == np.float32


def test_reset_draws_a_fresh_action() -> None:
    policy = HeldRandomAction(low=-np.ones(2), high=np.ones(2), min_hold=10, max_hold=10)
    rng = np.random.default_rng(0)
    first = policy(rng, np.zeros(2))
    policy.reset()
    assert not np.array_equal(policy(rng, np.zeros(2)), first)


def test_bad_hold_range_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="min_hold"):
        HeldRandomAction(low=-np.ones(2), high=np.ones(2), min_hold=4, max_hold=2)
