"""The ``worldplan`` command itself, run in a subprocess on tiny settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from worldplan.cli import _with_implied_choices, main
from worldplan.cli_help import COMMANDS
from worldplan.config import compose
from worldplan.data.episodes import EpisodeDataset

POINT_ENV = ["env.id=point_env:worldplan_test/Point-v0", "env.kwargs.image_size=16"]


def worldplan(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m worldplan.cli`` with ``tests/data`` importable (for the test point env)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent / "data"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "worldplan.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_the_subcommands(tmp_path):
    result = worldplan("--help", cwd=tmp_path)
    assert result.returncode == 0
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


def test_subcommand_help_is_not_read_as_an_override(tmp_path):
    result = worldplan("collect", "env=wall", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: worldplan collect") and "data.episodes" in result.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_subcommand_help_names_config_keys_that_exist(name, capsys):
    assert main([name, "-h"]) == 0
    out = capsys.readouterr().out
    cfg = compose("config", _with_implied_choices(name, []))
    missing = object()
    for key in COMMANDS[name].reads:
        assert key in out and OmegaConf.select(cfg, key, default=missing) is not missing, key
    assert f"example: worldplan {name}" in out


@pytest.mark.parametrize("flags", [["--cfg"], ["--cfg", "job"]])
def test_cfg_prints_the_composed_config(flags, capsys):
    assert main(["envs", "env=pusht", *flags]) == 0
    assert "id: worldplan/PushT-v0" in capsys.readouterr().out


def test_an_unknown_option_exits_2_naming_the_options(capsys):
    assert main(["envs", "--verbose"]) == 2
    assert "unknown option '--verbose'" in capsys.readouterr().err


def test_unknown_subcommand_exits_2(tmp_path):
    result = worldplan("colect", cwd=tmp_path)
    assert result.returncode == 2 and "unknown subcommand 'colect'" in result.stderr


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """``worldplan collect preset=tiny`` (Wall, 8 episodes of 20 steps), and its output directory."""
    out = tmp_path_factory.mktemp("cli") / "ds"
    result = worldplan("collect", "preset=tiny", f"data.out={out}", cwd=out.parent)
    return result, out


def test_collect_writes_dataset_preview_and_config(collected):
    result, out = collected
    assert result.returncode == 0, result.stderr
    assert "collected 8 episodes (168 frames)" in result.stdout
    assert len(EpisodeDataset.open(out, env_id="worldplan/Wall-v0")) == 8
    assert (out / "preview.mp4").stat().st_size > 0 and (out / "config.yaml").is_file()


def test_datasets_prints_the_summary(collected):
    _, out = collected
    result = worldplan("datasets", f"path={out}", cwd=out.parent)
    assert result.returncode == 0, result.stderr
    assert "episodes  8: length min 20 / mean 20.0 / max 20, 168 frames" in result.stdout


def test_datasets_of_nan_actions_exits_1_naming_the_episode_and_field(collected, tmp_path):
    _, out = collected
    copy = shutil.copytree(out, tmp_path / "ds")
    actions = np.load(copy / "episodes" / "ep_000003" / "actions.npy")
    actions[4] = np.nan
    np.save(copy / "episodes" / "ep_000003" / "actions.npy", actions)
    result = worldplan("datasets", f"path={copy}", cwd=tmp_path)
    assert result.returncode == 1 and "ep_000003/actions.npy holds non-finite actions" in result.stderr


def test_collect_with_a_module_env_id_imports_the_module(tmp_path):
    result = worldplan("collect", "preset=tiny", *POINT_ENV, "data.episodes=2", f"data.out={tmp_path / 'ds'}",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert EpisodeDataset.open(tmp_path / "ds").meta.image_size == 16


def test_demo_selects_the_demo_grid_unless_told_otherwise(tmp_path):
    assert "name: demo" in worldplan("demo", "--cfg", cwd=tmp_path).stdout
    assert "name: tiny" in worldplan("demo", "preset=tiny", "--cfg", cwd=tmp_path).stdout


@pytest.mark.slow
def test_demo_runs_the_pipeline_to_a_table_plot_and_videos(tmp_path):
    out = tmp_path / "demo"
    result = worldplan("demo", "preset=tiny", f"benchmark.out={out}", "benchmark.planners=[cem]",
                       "benchmark.sizes=[2]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| wall | cem | pretrained | 2 |" in result.stdout and "| wall | cem | scratch | 2 |" in result.stdout
    assert (out / "results.md").is_file() and (out / "success_vs_size_wall.png").is_file()
    assert list((out / "wall" / "eval" / "cem-pretrained-n2-s0" / "videos").glob("*.mp4"))


def test_collect_of_an_unknown_env_exits_1_with_the_reason(tmp_path):
    result = worldplan("collect", "preset=tiny", "env.id=worldplan/Nope-v0", f"data.out={tmp_path / 'ds'}",
                       cwd=tmp_path)
    assert result.returncode == 1 and "env id 'worldplan/Nope-v0'" in result.stderr


def test_datasets_of_a_corrupt_dataset_exits_1_naming_the_file(tmp_path):
    (tmp_path / "meta.json").write_text("{")
    result = worldplan("datasets", f"path={tmp_path}", cwd=tmp_path)
    assert result.returncode == 1 and "meta.json is corrupt" in result.stderr
