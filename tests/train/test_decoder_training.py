"""Training the viewing-only pixel decoder on a tiny episode dataset's cached features."""

from __future__ import annotations

import numpy as np
import pytest

from worldplan.cli import main
from worldplan.models.decoder import load_decoder, read_decoder_meta
from worldplan.models.encoder import FrozenEncoder
from worldplan.train.decoder import train_decoder


def test_training_lowers_the_pixel_loss_and_saves_a_decoder_of_the_dataset_frames(tiny_cfg, workdir):
    cfg = tiny_cfg("decoder.steps=40")
    result = train_decoder(cfg)
    assert result.steps == len(result.losses) == 40
    assert np.mean(result.losses[-5:]) < 0.5 * np.mean(result.losses[:5])
    meta = read_decoder_meta(result.out)
    assert result.out == workdir / "checkpoints" / "decoder"
    assert meta["arch"]["image_size"] == 28 and meta["train"]["frames"] == 8 * 31
    assert meta["train"]["final_loss"] == result.losses[-1]
    decoder = load_decoder(result.out, encoder_identity=FrozenEncoder.from_config(cfg.encoder).identity())
    assert decoder.arch["grid"] == [4, 4]


def test_the_decoder_command_trains_and_says_where_the_decoder_went(workdir, capsys):
    assert main(["decoder", "preset=tiny", "device=cpu", f"workdir={workdir}"]) == 0
    out = capsys.readouterr().out
    assert "trained the pixel decoder 20 steps: l2 pixel loss" in out
    assert f"eval.decoder={workdir / 'checkpoints' / 'decoder'}" in out


@pytest.mark.parametrize(("override", "message"), [("decoder.loss=ssim", "decoder.loss='ssim'"),
                                                   ("decoder.steps=0", "must be >= 1")])
def test_bad_decoder_settings_are_refused_before_encoding(tiny_cfg, workdir, override, message):
    with pytest.raises(ValueError, match=message):
        train_decoder(tiny_cfg(override))
    assert not (workdir / "data" / "train" / "features").exists()
