"""Compose the packaged Hydra configs (``worldplan.configs``) without Hydra taking over the process."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from worldplan.config_resolvers import register_resolvers

_OVERRIDE_KEY = re.compile(r"Could not override '([^']+)'")


def compose(config_name: str = "config", overrides: list[str] | None = None) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with command-line style ``overrides``.

    Raises:
        ValueError: an override sets a key the config does not have; the message names it and the
            nearest valid key.
    """
    overrides = list(overrides or [])
    register_resolvers()
    with initialize_config_module(config_module="worldplan.configs", version_base="1.3"):
        try:
            cfg = hydra_compose(config_name=config_name, overrides=overrides)
        except ConfigCompositionException as err:
            unknown = _unknown_key(err)
            if unknown is None:
                raise
            override, full_key = unknown
            rest = [o for o in overrides if _key_of(o) != override]
            raise ValueError(_unknown_key_message(full_key, hydra_compose(config_name=config_name, overrides=rest))
                             ) from None
    OmegaConf.resolve(cfg)
    return cfg


def _key_of(override: str) -> str:
    """``data.episodes`` of ``data.episodes=4`` (and of ``+data.episodes=4``, ``~data.episodes``)."""
    return override.split("=", 1)[0].lstrip("+~")


def _unknown_key(err: ConfigCompositionException) -> tuple[str, str] | None:
    """(the override's key, the first config key on its path that does not exist), or None for other errors."""
    cause, found = err.__cause__, _OVERRIDE_KEY.search(str(err))
    if not isinstance(cause, (ConfigAttributeError, ConfigKeyError)) or found is None or not cause.full_key:
        return None
    return found.group(1), str(cause.full_key)


def _unknown_key_message(full_key: str, cfg: DictConfig) -> str:
    """Name ``full_key``, suggest the nearest existing key beside it and list those keys."""
    parent, _, name = full_key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    valid = sorted(str(k) for k in node) if isinstance(node, DictConfig) else []
    near = difflib.get_close_matches(name, valid, n=1)
    where = f"under {parent}" if parent else "at the top level"
    hint = f"; did you mean {parent + '.' if parent else ''}{near[0]}?" if near else ""
    return f"unknown config key {full_key}{hint} (keys {where}: {', '.join(valid)})"


def save_config(cfg: DictConfig, run_dir: str | Path) -> Path:
    """Write the resolved config as ``config.yaml`` next to a run's outputs."""
    path = Path(run_dir) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path
