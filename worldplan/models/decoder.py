"""A light pixel decoder from frozen patch features, for watching imagined rollouts only.

Axis legend: M frames, P patches (a gh x gw grid), D feature size, C decoder channels, S image side.

Like DINO-WM's, the decoder is trained after the fact on a dataset's cached features and never enters
the planning cost: it only draws what the world model predicts, in evaluation videos. Each patch
feature becomes a c x c cell of C channels (one linear map); the cells are folded into a
(gh*c, gw*c) map, resized to S x S and refined by two 3x3 convolutions to RGB in [0, 1].

A decoder directory holds ``model.safetensors`` and ``meta.json`` (format ``worldplan.decoder``: its
architecture, the identity of the encoder whose features it reads, and the caller's ``meta``), written
atomically like a world-model checkpoint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

import worldplan
from worldplan.models.checkpoint import META_FILE, MODEL_FILE, CheckpointError, read_format_meta, write_checkpoint_dir
from worldplan.models.weights import read_safetensors

DECODER_FORMAT, DECODER_VERSION = "worldplan.decoder", 1
# What must agree between the encoder a decoder was trained on and the one whose features it decodes.
FEATURE_KEYS = ("model", "arch", "weights_sha256", "image_size", "pool", "grid", "dim")


class PatchDecoder(nn.Module):
    """Patch features -> RGB frame.

    Args:
        feature_dim: D.
        grid: (gh, gw), the encoder's patch grid (P = gh * gw).
        image_size: S of the frames it draws.
        width: C, channels of the folded pixel map and of the refinement.
    """

    def __init__(self, *, feature_dim: int, grid: tuple[int, int], image_size: int, width: int = 64) -> None:
        super().__init__()
        if min(feature_dim, *grid, image_size, width) < 1:
            raise ValueError(f"decoder sizes must be >= 1; got feature_dim={feature_dim}, grid={grid}, "
                             f"image_size={image_size}, width={width}")
        self.arch = {"feature_dim": int(feature_dim), "grid": [int(g) for g in grid], "image_size": int(image_size),
                     "width": int(width)}
        self.cell = math.ceil(image_size / min(grid))  # c: pixels per patch side before the resize to S
        self.norm = nn.LayerNorm(feature_dim)
        self.to_cells = nn.Linear(feature_dim, width * self.cell**2)
        self.refine = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(..., P, D) features -> (..., S, S, 3) float RGB in [0, 1]."""
        (gh, gw), size = self.arch["grid"], self.arch["image_size"]
        if z.shape[-2:] != (gh * gw, self.arch["feature_dim"]):
            raise ValueError(f"the decoder reads (..., {gh * gw}, {self.arch['feature_dim']}) features; got "
                             f"{tuple(z.shape)}")
        lead = z.shape[:-2]
        cells = self.to_cells(self.norm(z.reshape(-1, gh * gw, z.shape[-1]).float()))  # (M, P, C*c*c)
        x = F.pixel_shuffle(cells.transpose(1, 2).reshape(cells.shape[0], -1, gh, gw), self.cell)  # (M, C, gh*c, gw*c)
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        rgb = torch.sigmoid(self.refine(x))  # (M, 3, S, S)
        return rgb.permute(0, 2, 3, 1).reshape(*lead, size, size, 3)

    @torch.no_grad()
    def frames(self, z: torch.Tensor) -> torch.Tensor:
        """(..., P, D) features -> (..., S, S, 3) uint8 frames."""
        return self(z).mul(255).round().to(torch.uint8)


def save_decoder(path: str | Path, decoder: PatchDecoder, *, encoder_identity: Mapping[str, Any],
                 meta: Mapping[str, Any]) -> Path:
    """Write ``decoder`` to the directory ``path`` atomically (an older decoder there is replaced).

    Args:
        path: decoder directory.
        decoder: the trained decoder.
        encoder_identity: ``FrozenEncoder.identity()`` of the encoder whose features it was trained on.
        meta: JSON-able extras recorded in ``meta.json`` under ``train`` (dataset, steps, losses...).
    """
    content = {"format": DECODER_FORMAT, "format_version": DECODER_VERSION, "worldplan_version": worldplan.__version__,
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "arch": decoder.arch,
               "encoder_identity": dict(encoder_identity), "train": dict(meta)}
    state = {k: v.detach().cpu().contiguous() for k, v in decoder.state_dict().items()}

    def write(tmp: Path) -> None:
        save_file(state, str(tmp / MODEL_FILE))
        (tmp / META_FILE).write_text(json.dumps(content, indent=2, sort_keys=True))

    return write_checkpoint_dir(path, write)


def read_decoder_meta(path: str | Path) -> dict[str, Any]:
    """The ``meta.json`` of a decoder directory.

    Raises:
        FileNotFoundError: no such directory.
        CheckpointError: not a worldplan decoder (e.g. a world-model checkpoint), or a newer format.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"decoder directory not found: {path} (train one with `worldplan decoder`)")
    return read_format_meta(path, kind="decoder", fmt=DECODER_FORMAT, version=DECODER_VERSION,
                            writer="`worldplan decoder`")


def load_decoder(path: str | Path, *, encoder_identity: Mapping[str, Any] | None = None,
                 device: str | torch.device = "cpu") -> PatchDecoder:
    """Rebuild and load a decoder (eval mode, frozen).

    Args:
        path: decoder directory written by `save_decoder`.
        encoder_identity: when given, the encoder whose features will be decoded; it must produce the
            features the decoder was trained on.
        device: where the decoder goes.

    Raises:
        CheckpointError: not a decoder, or trained on another encoder's features (the message names the keys).
    """
    meta = read_decoder_meta(path)
    if encoder_identity is not None:
        theirs = meta["encoder_identity"]
        diff = [k for k in FEATURE_KEYS if theirs.get(k) != encoder_identity.get(k)]
        if diff:
            raise CheckpointError(f"decoder {path} was trained on other encoder features (differs in {diff}); "
                                  "train one with this encoder config (`worldplan decoder`)")
    arch = meta["arch"]
    decoder = PatchDecoder(**{**arch, "grid": tuple(arch["grid"])})
    decoder.load_state_dict(read_safetensors(Path(path) / MODEL_FILE))
    return decoder.requires_grad_(False).eval().to(device)
