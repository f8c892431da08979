"""``worldplan encode``: build (or bring up to date) the feature cache of datasets and video folders.

``path=<dir>`` encodes one episode dataset or video folder; without it, the fine-tuning dataset
(``train.finetune.dataset``) and every pretraining source (``train.pretrain.sources``) that exists.
A second run does no work; changed or new episodes are (re-)encoded.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from worldplan.data.features import encode_dataset
from worldplan.models.encoder import FrozenEncoder
from worldplan.models.precision import resolve_device
from worldplan.train.sources import open_source


def _targets(cfg: DictConfig) -> list[Path]:
    if cfg.path is not None:
        return [Path(cfg.path)]
    candidates = [Path(cfg.train.finetune.dataset), *(Path(p) for p in cfg.train.pretrain.sources)]
    found = [p for p in dict.fromkeys(candidates) if p.exists()]
    if not found:
        raise FileNotFoundError(f"none of {[str(p) for p in candidates]} exists: "
                                "collect a dataset first or pass path=<dir>")
    return found


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan encode``."""
    device = resolve_device(str(cfg.device))
    encoder = FrozenEncoder.from_config(cfg.encoder, device=device)
    size = int(encoder.identity()["image_size"])
    for path in _targets(cfg):
        source = open_source(path, frame_size=size)
        cache = encode_dataset(source, encoder, batch_size=int(cfg.train.encode_batch_size), device=device,
                               progress=bool(cfg.train.progress))
        frames = sum(cache.features(i).shape[0] for i in range(len(cache)))
        print(f"{path}: {len(cache)} items, {frames} frames of features in {cache.directory}")
