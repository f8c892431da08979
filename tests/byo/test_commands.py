"""``worldplan envs``, ``worldplan import`` and ``worldplan export``: the CLI on tiny data."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from user_envs import ref

from worldplan.byo import resolve_env
from worldplan.cli import main
from worldplan.data.collect import collect
from worldplan.data.episodes import EpisodeDataset
from worldplan.evaluate.plan import checkpoint_env, env_identity

SLIDE = ["env=gym", f"env.id={ref('SettableSlide')}", "env.image_size=16"]


@pytest.fixture
def dataset(tmp_path) -> EpisodeDataset:
    return collect(*resolve_env({"id": ref("SettableSlide"), "image_size": 16}), tmp_path / "ds", episodes=2,
                   steps=3, policy="random", seed=0, noise=0.0, progress=False)


def test_envs_lists_shipped_envs_and_describes_the_configured_one(capsys):
    assert main(["envs", *SLIDE]) == 0
    out = capsys.readouterr().out
    assert "worldplan/Wall-v0" in out and "success_threshold  4.5" in out
    assert "1 values from env.get_state(); settable" in out and "latent_threshold" in out
    assert "goal sources       random_walk, policy, image, state, dataset" in out


def test_envs_shows_a_user_success_function_and_drops_image_goals(capsys):
    assert main(["envs", *SLIDE, f"env.success={ref('close_enough')}"]) == 0
    out = capsys.readouterr().out
    assert f"user_function:{ref('close_enough')}" in out
    assert "goal sources       random_walk, policy, state, dataset" in out


def test_export_and_import_through_the_cli_round_trip(tmp_path, dataset, capsys):
    lerobot, back = tmp_path / "lerobot", tmp_path / "back"
    assert main(["export", "convert.format=lerobot", f"convert.src={dataset.path}", f"convert.out={lerobot}"]) == 0
    assert main(["import", "convert.format=lerobot", f"convert.src={lerobot}", f"convert.out={back}"]) == 0
    assert "converted 2 episodes" in capsys.readouterr().out
    np.testing.assert_array_equal(EpisodeDataset.open(back)[1].frames, dataset[1].frames)


def test_import_of_a_videos_folder_checks_every_file(tmp_path, dataset, capsys):
    main(["export", "convert.format=lerobot", f"convert.src={dataset.path}", f"convert.out={tmp_path / 'lr'}"])
    assert main(["import", "convert.format=videos", f"convert.src={tmp_path / 'lr' / 'videos'}"]) == 0
    assert "2 videos" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [(["convert.format=parquet"], "convert.format='parquet'"),
                                           (["convert.format=lerobot"], "convert.src=")])
def test_bad_import_settings_exit_1_with_what_to_give(args, message, capsys):
    assert main(["import", *args]) == 1
    assert message in capsys.readouterr().err


def test_envs_runs_as_a_subprocess(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "worldplan.cli", "envs", "env=dmc", "env.image_size=16",
                             "env.kwargs.render_size=16"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "dmc:cartpole-swingup  (configured: env.id)" in result.stdout
    assert "env.get_state(); settable" in result.stdout


def test_plan_tells_adapted_envs_apart_by_the_env_they_wrap(dataset):
    trained_on = env_identity(*checkpoint_env({"train": {"dataset": str(dataset.path)}}))
    assert trained_on == env_identity(*resolve_env({"id": ref("SettableSlide"), "image_size": 32}))
    assert trained_on != env_identity(*resolve_env({"id": "my_robot.envs:Arm", "image_size": 16}))
    assert env_identity("worldplan.envs:worldplan/Wall-v0", {}) == "worldplan/Wall-v0"
