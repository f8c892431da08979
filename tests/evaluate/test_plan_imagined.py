"""``worldplan plan`` videos with the imagined panel: decoded with ``eval.decoder``, nearest dataset frames
without one (labelled so), unchanged without either; tiny Wall checkpoint, one episode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_plan_command import WALL, _tiny_checkpoint

from worldplan.cli import main
from worldplan.config import compose
from worldplan.data.collect import collect
from worldplan.data.episodes import EpisodeDataset
from worldplan.data.features import encode_dataset
from worldplan.data.video import TITLE_BAR
from worldplan.models import FrozenEncoder
from worldplan.models.decoder import PatchDecoder, save_decoder

S = 64  # Wall's frames


@pytest.fixture()
def wall(tmp_path: Path) -> tuple[EpisodeDataset, Path, FrozenEncoder]:
    """A tiny Wall dataset, an untrained tiny checkpoint recording it, and the tiny preset's encoder."""
    dataset = collect(WALL, {"image_size": S}, tmp_path / "data", episodes=1, steps=2, policy="random", seed=0,
                      noise=0.0, progress=False)
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", dataset=dataset.path)
    return dataset, checkpoint, FrozenEncoder.from_config(compose("config", ["preset=tiny"]).encoder)


def _plan_sidecar(tmp_path: Path, checkpoint: Path, *overrides: str) -> dict:
    """Plan one episode with a video; the video's JSON sidecar."""
    assert main(["plan", "preset=tiny", f"eval.checkpoint={checkpoint}", f"workdir={tmp_path / 'run'}",
                 "eval.episodes=1", "eval.batch_size=1", *overrides]) == 0
    [sidecar] = (tmp_path / "run" / "eval" / "ckpt-cem" / "videos").glob("*.mp4.json")
    return json.loads(sidecar.read_text())


def test_a_plan_with_a_decoder_writes_observed_imagined_goal_videos(tmp_path, wall):
    _, checkpoint, encoder = wall
    decoder = PatchDecoder(feature_dim=encoder.dim, grid=encoder.grid, image_size=S, width=4)
    path = save_decoder(tmp_path / "decoder", decoder, encoder_identity=encoder.identity(), meta={})
    sidecar = _plan_sidecar(tmp_path, checkpoint, f"eval.decoder={path}")
    assert sidecar["source_size"] == [TITLE_BAR + S, 3 * S]  # three panels under their titles
    assert sidecar["imagined"] == {"source": "decoder", "path": str(path.resolve()), "panel": "decoded",
                                   "shows": "each plan's last predicted step"}


def test_without_a_decoder_the_nearest_dataset_frames_stand_in_labelled_so(tmp_path, wall):
    dataset, checkpoint, encoder = wall
    encode_dataset(dataset, encoder, batch_size=8, device="cpu", progress=False)
    sidecar = _plan_sidecar(tmp_path, checkpoint)
    assert sidecar["source_size"] == [TITLE_BAR + S, 3 * S]
    assert sidecar["imagined"]["panel"] == "nearest" and sidecar["imagined"]["source"] == "nearest_dataset_frame"
    assert sidecar["imagined"]["dataset"] == str(dataset.path.resolve())


def test_without_a_decoder_or_a_feature_cache_the_video_stays_observation_and_goal(tmp_path, wall):
    sidecar = _plan_sidecar(tmp_path, wall[1])
    assert sidecar["source_size"] == [S, 2 * S] and "imagined" not in sidecar


def test_a_decoder_of_other_features_is_refused_before_planning(tmp_path, wall, capsys):
    _, checkpoint, _ = wall
    other = FrozenEncoder.from_config(compose("config", ["preset=tiny", "encoder.image_size=84"]).encoder)
    decoder = PatchDecoder(feature_dim=other.dim, grid=other.grid, image_size=S, width=4)
    path = save_decoder(tmp_path / "decoder", decoder, encoder_identity=other.identity(), meta={})
    assert main(["plan", "preset=tiny", f"eval.checkpoint={checkpoint}", f"workdir={tmp_path / 'run'}",
                 f"eval.decoder={path}"]) == 1
    assert "other encoder features" in capsys.readouterr().err
    assert not (tmp_path / "run" / "eval").exists()
