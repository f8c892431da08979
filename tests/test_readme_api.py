"""The README's "Python API" code block runs as written, on a tiny untrained checkpoint."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from worldplan.config import compose
from worldplan.models import DataWindow, FrozenEncoder, Predictor, WorldModel, save_checkpoint

README = Path(__file__).parents[1] / "README.md"
CHECKPOINT = "runs/wall/checkpoints/finetune-pretrained"  # the path the snippet loads


def readme_api_snippet() -> str:
    """The first ```python block after the "## Python API" heading."""
    section = README.read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def save_tiny_wall_checkpoint(path: Path) -> None:
    """An untrained world model of the tiny preset for Wall (64 px frames, frameskip 2: 4 action values)."""
    cfg = compose("config", ["preset=tiny"])
    encoder = FrozenEncoder.from_config(cfg.encoder)
    torch.manual_seed(0)
    predictor = Predictor.from_config(cfg.predictor, feature_dim=encoder.dim, grid=encoder.grid, action_dim=4)
    model = WorldModel(predictor=predictor, window=DataWindow(context=1, horizon=3, frameskip=2, fps=10.0),
                       encoder=encoder, frame_size=64)
    save_checkpoint(path, model, meta={"train": {"init": "pretrained", "env_id": "worldplan/Wall-v0"}})


def test_the_readme_python_api_snippet_runs(tmp_path, monkeypatch, capsys):
    snippet = readme_api_snippet()
    assert CHECKPOINT in snippet
    monkeypatch.chdir(tmp_path)
    save_tiny_wall_checkpoint(tmp_path / CHECKPOINT)
    exec(compile(snippet, str(README), "exec"), {})
    assert re.fullmatch(r"success (True|False), final distance \d+\.\d\d\n", capsys.readouterr().out)
