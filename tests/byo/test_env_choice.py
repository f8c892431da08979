"""``env.id`` alone picks the adapter config; a shipped env config with a foreign ``env.id`` is refused."""

from __future__ import annotations

import logging

import pytest

from worldplan.byo import ADAPTER_GYM_ID
from worldplan.byo.env_choice import with_env_choice
from worldplan.cli import main
from worldplan.data.episodes import EpisodeDataset


@pytest.mark.parametrize(("env_id", "config"), [("Pendulum-v1", "gym"), ("dmc:walker-walk", "dmc")])
def test_an_env_id_that_is_no_worldplan_env_selects_its_adapter_config(env_id, config, caplog):
    with caplog.at_level(logging.INFO, logger="worldplan.byo.env_choice"):
        assert with_env_choice([f"env.id={env_id}", "seed=1"]) == [f"env={config}", f"env.id={env_id}", "seed=1"]
    assert f"add env={config} to say so" in caplog.text


@pytest.mark.parametrize("overrides", [["env.id=worldplan/Reacher-v0"], ["env=gym", "env.id=CartPole-v1"], ["seed=3"]])
def test_a_worldplan_env_id_or_a_chosen_adapter_config_is_kept(overrides):
    assert with_env_choice(overrides) == overrides


def test_a_shipped_env_config_with_a_foreign_env_id_is_refused_naming_the_fix():
    with pytest.raises(ValueError, match="replace env=wall with env=gym"):
        with_env_choice(["env=wall", "env.id=Pendulum-v1"])


def test_collect_with_only_a_gymnasium_env_id_collects_through_the_adapter(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["collect", "preset=tiny", "env.id=Pendulum-v1", f"data.out={out}", "data.episodes=1",
                 "data.steps=2", "data.video_episodes=0"]) == 0, capsys.readouterr().err
    meta = EpisodeDataset.open(out).meta
    assert meta.env_id == ADAPTER_GYM_ID and meta.env_kwargs["env"] == "Pendulum-v1"


def test_a_foreign_env_id_with_a_shipped_env_config_exits_2_before_any_work(tmp_path, capsys):
    assert main(["collect", "env=wall", "env.id=Pendulum-v1", f"data.out={tmp_path / 'ds'}"]) == 2
    assert "replace env=wall with env=gym" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()
