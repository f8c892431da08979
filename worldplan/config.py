"""Compose the packaged Hydra configs (``worldplan.configs``) without Hydra taking over the process."""

from __future__ import annotations

from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_module
from omegaconf import DictConfig, OmegaConf


def compose(config_name: str = "config", overrides: list[str] | None = None) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with command-line style ``overrides``."""
    with initialize_config_module(config_module="worldplan.configs", version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=list(overrides or []))
    OmegaConf.resolve(cfg)
    return cfg


def save_config(cfg: DictConfig, run_dir: str | Path) -> Path:
    """Write the resolved config as ``config.yaml`` next to a run's outputs."""
    path = Path(run_dir) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path
