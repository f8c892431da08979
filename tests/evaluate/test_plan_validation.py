"""``plan_from_config`` checks its config before building any env or model, and never replaces a result silently."""

from __future__ import annotations

import logging

import pytest

import worldplan.evaluate.plan as plan
from worldplan.config import compose


class Built(Exception):
    """Raised by the patched loaders: the evaluation got past validation."""


@pytest.fixture(autouse=True)
def no_env_or_model(monkeypatch):
    """Make building an env, a model or an encoder fail the test."""
    def built(*args, **kwargs):
        raise Built

    for name in ("probe_env", "load_eval_model", "make_env", "load_world_model"):
        monkeypatch.setattr(plan, name, built)
    monkeypatch.setattr(plan.FrozenEncoder, "from_config", built)


def _cfg(tmp_path, *overrides: str):
    return compose("config", ["preset=tiny", f"workdir={tmp_path}", *overrides])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "needs eval.checkpoint="),
        (["eval.checkpoint=nowhere"], "checkpoint directory not found"),
        (["eval.model=random", "eval.goal_source=teleport"], "eval.goal_source='teleport' is not one of"),
        (["eval.model=random", "eval.goal_source=image"], "needs goal.image: e.g. goal.image=goal.png"),
        (["eval.model=random", "eval.goal_source=dataset", "goal.dataset=nowhere"], "goal.dataset=nowhere: no such"),
        (["eval.model=random", "eval.goal_offset=0"], "eval.goal_offset must be >= 1"),
    ],
    ids=["no-checkpoint", "missing-checkpoint", "unknown-source", "no-goal-image", "missing-dataset", "zero-offset"],
)
def test_config_errors_come_before_any_env_or_model_is_built(tmp_path, overrides, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        plan.plan_from_config(_cfg(tmp_path, *overrides))


def test_a_finished_evaluation_of_the_same_name_is_refused_naming_both_ways_out(tmp_path):
    out = tmp_path / "eval" / "random"
    out.mkdir(parents=True)
    (out / "summary.json").write_text("{}")
    with pytest.raises(ValueError) as err:
        plan.plan_from_config(_cfg(tmp_path, "eval.model=random"))
    assert str(out) in str(err.value) and "eval.name=<other>" in str(err.value)
    assert "eval.overwrite=true" in str(err.value)
    with pytest.raises(Built):
        plan.plan_from_config(_cfg(tmp_path, "eval.model=random", "eval.overwrite=true"))
    with pytest.raises(Built):
        plan.plan_from_config(_cfg(tmp_path, "eval.model=random", "eval.name=again"))


def test_a_goal_offset_other_than_the_env_configs_is_logged(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger=plan.logger.name), pytest.raises(Built):
        plan.plan_from_config(_cfg(tmp_path, "eval.model=random"))  # the tiny eval group sets 5
    assert ("goals are 5 env steps from the start (eval.goal_offset), not the 25 of env.goal_offset "
            "(env config wall)") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=plan.logger.name), pytest.raises(Built):
        plan.plan_from_config(_cfg(tmp_path, "eval.model=random", "eval.goal_offset=25"))
    assert "goal_offset" not in caplog.text
