"""``worldplan demo``: the pipeline on one env, step by step, each step a call of another subcommand's code.

For now: collect the config's dataset (``cfg.data``, under ``${workdir}``) and write its preview video.
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.commands.collect import collect_from_config, summary_line


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan demo``."""
    print(f"worldplan demo: env {cfg.env.id}, outputs under {cfg.workdir}")
    collected = collect_from_config(cfg)
    print(f"[1/1] {summary_line(collected)}")
    print(f"      dataset: {collected.dataset.path}")
    if collected.preview is not None:
        print(f"      preview: {collected.preview}")
