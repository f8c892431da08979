"""``worldplan plan`` end to end on tiny settings: a tiny checkpoint on Wall, the random baseline, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from eval_fakes import DOT_ID

import worldplan.envs  # noqa: F401  (registers the worldplan envs)
from worldplan.cli import main
from worldplan.config import compose
from worldplan.data.collect import collect
from worldplan.models import DataWindow, FrozenEncoder, Predictor, WorldModel, save_checkpoint

HERE = Path(__file__).parent
DOT = f"eval_fakes:{DOT_ID}"
WALL = "worldplan/Wall-v0"


def _tiny_checkpoint(path: Path, *, env_id: str | None = None, dataset: Path | None = None, frameskip: int = 2,
                     frame_size: int = 64, action_dim: int | None = 4, proprio_dim: int = 0) -> Path:
    """Save an untrained tiny world model (tiny encoder and predictor configs) recording its env or dataset."""
    cfg = compose("config", ["preset=tiny"])
    encoder = FrozenEncoder.from_config(cfg.encoder)
    torch.manual_seed(0)
    predictor = Predictor.from_config(cfg.predictor, feature_dim=encoder.dim, grid=encoder.grid,
                                      action_dim=action_dim, proprio_dim=proprio_dim)
    model = WorldModel(predictor=predictor, window=DataWindow(context=1, horizon=3, frameskip=frameskip, fps=10.0),
                       encoder=encoder, frame_size=frame_size)
    train = {"init": "scratch", "train_episodes": [0, 1, 2, 3], "dataset": None if dataset is None else str(dataset)}
    if env_id is not None:
        train["env_id"] = env_id
    return save_checkpoint(path, model, meta={"train": train})


def _run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worldplan.cli", "plan", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_plan_command_evaluates_a_checkpoint_and_records_the_protocol(tmp_path):
    dataset = collect(WALL, {"image_size": 64}, tmp_path / "data", episodes=1, steps=2, policy="random", seed=0,
                      noise=0.0, progress=False)
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", dataset=dataset.path)  # the env is read from the dataset
    done = _run_cli(["preset=tiny", f"eval.checkpoint={checkpoint}", "workdir=run"], tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "run" / "eval" / "ckpt-cem"
    assert "| ckpt-cem | 2 |" in done.stdout
    saved = json.loads((out / "summary.json").read_text())
    protocol = saved["protocol"]
    assert saved["summary"]["episodes"] == 2
    assert protocol["env"]["id"] == WALL and protocol["goals"]["source"] == "random_walk"
    assert (protocol["frameskip"], protocol["context_frames"], protocol["max_env_steps"]) == (2, 1, 8)
    assert protocol["planner"]["budget"] == {"num_samples": 32, "iterations": 3, "horizon": 3}
    assert (protocol["model"]["init"], protocol["model"]["train_episodes"]) == ("scratch", 4)
    assert protocol["encoder"]["weights"] == "random"
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert [r["seed"] for r in records] == protocol["goals"]["episode_seeds"]
    assert len(list((out / "videos").glob("ep0_seed*.mp4"))) == 1


def test_plan_command_runs_the_random_baseline(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(HERE))
    assert main(["plan", "preset=tiny", f"env.id={DOT}", "eval.model=random", "eval.video_episodes=0",
                 "workdir=run"]) == 0
    saved = json.loads((tmp_path / "run" / "eval" / "random" / "summary.json").read_text())
    assert saved["protocol"]["planner"]["budget"] == {"num_samples": 1, "iterations": 0, "horizon": 3}
    assert saved["summary"]["evaluations_per_episode"] == 0


@pytest.mark.parametrize(
    ("checkpoint_kwargs", "overrides", "message"),
    [
        ({"env_id": WALL}, [], f"trained on {WALL}"),
        ({"env_id": DOT_ID, "frame_size": 32}, [], "32 px"),
        ({"env_id": DOT_ID}, ["eval.frameskip=3"], "frameskip"),
        ({"env_id": DOT_ID, "action_dim": 6}, [], "action values per model step"),
        ({"env_id": DOT_ID, "action_dim": None}, [], "action-free"),
        ({"env_id": DOT_ID, "proprio_dim": 2}, [], f"takes 2 proprioception values but {DOT} exposes none"),
    ],
    ids=["other-env", "image-size", "frameskip", "action-size", "action-free", "no-proprio"],
)
def test_plan_command_refuses_a_checkpoint_that_does_not_fit(tmp_path, monkeypatch, capsys, checkpoint_kwargs,
                                                            overrides, message):
    monkeypatch.syspath_prepend(str(HERE))
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", **checkpoint_kwargs)
    code = main(["plan", "preset=tiny", f"env.id={DOT}", f"eval.checkpoint={checkpoint}",
                 f"workdir={tmp_path / 'run'}", *overrides])
    assert code == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("override", ["env.frameskip=0", "eval.frameskip=0"])
def test_a_zero_frameskip_is_refused_wherever_it_is_set(tmp_path, capsys, override):
    assert main(["plan", "preset=tiny", "eval.model=random", f"workdir={tmp_path}", override]) == 1
    assert f"{override}: frameskip is env steps per model step and must be >= 1" in capsys.readouterr().err


def test_plan_command_needs_a_checkpoint_or_a_baseline(tmp_path, capsys):
    assert main(["plan", "preset=tiny", f"workdir={tmp_path}"]) == 1
    assert "eval.checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("planner", ["icem", "gd", "cem_gd"])
def test_every_planner_plans_a_checkpoint_from_the_command_line(tmp_path, monkeypatch, planner):
    dataset = collect(WALL, {"image_size": 64}, tmp_path / "data", episodes=1, steps=2, policy="random", seed=0,
                      noise=0.0, progress=False)
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", dataset=dataset.path)
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "preset=tiny", f"planner={planner}", f"eval.checkpoint={checkpoint}", "workdir=run",
                 "eval.episodes=1", "eval.video_episodes=0"]) == 0
    saved = json.loads((tmp_path / "run" / "eval" / f"ckpt-{planner}" / "summary.json").read_text())
    record = saved["protocol"]["planner"]
    assert record["name"] == planner and saved["summary"]["evaluations_per_plan"] == record["evaluations_per_plan"]


def test_a_gradient_planner_with_the_oracle_is_refused_before_planning(tmp_path, monkeypatch, capsys):
    dataset = collect(WALL, {"image_size": 64}, tmp_path / "data", episodes=1, steps=2, policy="random", seed=0,
                      noise=0.0, progress=False)
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", dataset=dataset.path)
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "preset=tiny", "planner=gd", "eval.model=oracle", f"eval.checkpoint={checkpoint}"]) == 1
    assert "gradients" in capsys.readouterr().err
