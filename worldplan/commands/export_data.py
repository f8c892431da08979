"""``worldplan export``: write an episode dataset as a Minari dataset or a LeRobot v3 dataset.

``worldplan export convert.format=minari convert.src=<dataset dir> convert.out=<namespace/name-v0>``
(under MINARI_DATASETS_PATH); ``convert.format=lerobot convert.out=<new dir>`` with
``convert.last_frame`` and ``convert.lossless``. Prints what could not be carried over.
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.byo.lerobot_io import export_lerobot
from worldplan.byo.minari_io import export_minari

FORMATS = ("minari", "lerobot")


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan export``."""
    conv = cfg.convert
    if conv.format not in FORMATS:
        raise ValueError(f"convert.format={conv.format!r}: export writes one of {', '.join(FORMATS)}")
    if not conv.src or not conv.out:
        raise ValueError("give the dataset and the target: convert.src=<dataset dir> convert.out=<Minari id | dir>")
    if conv.format == "minari":
        report = export_minari(str(conv.src), str(conv.out))
    else:
        report = export_lerobot(str(conv.src), str(conv.out), last_frame=str(conv.last_frame),
                                lossless=bool(conv.lossless))
    print("\n".join(report.lines()))
