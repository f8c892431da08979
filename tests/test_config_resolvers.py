"""``env_name_of``: a folder-safe env name from any env id, as ``workdir: runs/${env.name}`` needs."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from worldplan.config_resolvers import env_name_of, register_resolvers


@pytest.mark.parametrize(("env_id", "name"), [
    ("dmc:point_mass-easy", "point_mass-easy"),
    ("point2d.py:Point2D", "Point2D"),
    ("path/to/point2d.py:Point2D", "Point2D"),
    ("point_env:worldplan_test/Point-v0", "Point-v0"),
    ("Pendulum-v1", "Pendulum-v1"),
    ("ALE/Pong-v5", "Pong-v5"),
    ("my env?:", "custom"),
])
def test_env_name_of_keeps_the_last_part_of_the_id(env_id, name):
    assert env_name_of(env_id) == name


@pytest.mark.parametrize("env_id", ["point2d.py:Point2D", "C:\\envs\\p.py:P d", "a:b/../..", "x/y:z w/v"])
def test_env_name_of_never_holds_a_path_separator(env_id):
    name = env_name_of(env_id)
    assert not set(name) & set(":/\\ ") and name not in ("", ".", "..")


def test_the_resolver_derives_the_workdir_from_the_env_id():
    register_resolvers()
    register_resolvers()  # twice is fine
    cfg = OmegaConf.create({"env": {"id": "point2d.py:Point2D", "name": "${env_name_of:${env.id}}"},
                            "workdir": "runs/${env.name}"})
    assert cfg.workdir == "runs/Point2D"
