"""The env config an ``env.id`` override implies: ``worldplan collect env.id=Reacher-v5`` means ``env=gym``.

The default env config (``env: wall`` in configs/config.yaml) and every shipped one describe a worldplan
goal env: their settings (``kwargs.image_size``, ``name``, ``frameskip``) do not fit another env. An
``env.id`` that is not a worldplan goal env therefore selects an adapter config when no ``env=`` is
given (``env=dmc`` for ``dmc:<domain>-<task>``, ``env=gym`` for anything else), and is refused with a
shipped env config (``env=wall env.id=Reacher-v5``), naming the choice to make instead.
"""

from __future__ import annotations

import logging
from importlib.resources import files

from omegaconf import OmegaConf

from worldplan.byo.dmc import PREFIX as DMC_PREFIX
from worldplan.byo.factory import is_goal_env_id

logger = logging.getLogger(__name__)


def _last_value(overrides: list[str], key: str) -> str | None:
    """The value the last ``key=value`` (or ``+key=value``) override gives ``key``; None without one."""
    values = [value for key_part, sep, value in (o.partition("=") for o in overrides)
              if sep and key_part.lstrip("+") == key]
    return values[-1] if values else None


def adapter_config(env_id: str) -> str:
    """The env config of the adapter for ``env_id``: ``dmc`` for a dm_control task, else ``gym``."""
    return "dmc" if env_id.startswith(DMC_PREFIX) else "gym"


def configures_goal_env(choice: str) -> bool:
    """Whether ``configs/env/<choice>.yaml`` is a shipped goal env's config (its ``id`` a worldplan env)."""
    path = files("worldplan.configs") / "env" / f"{choice}.yaml"
    if not path.is_file():
        return False  # an unknown option: composing names it
    return is_goal_env_id(str(OmegaConf.create(path.read_text()).get("id")))


def with_env_choice(overrides: list[str]) -> list[str]:
    """``overrides`` with the adapter config ``env.id`` implies put first, when it implies one.

    Raises:
        ValueError: ``env=<a shipped env>`` together with an ``env.id`` that is not a worldplan env; the
            message names the config to choose instead.
    """
    env_id = _last_value(overrides, "env.id")
    if env_id is None or is_goal_env_id(env_id):
        return overrides
    choice, adapter = _last_value(overrides, "env"), adapter_config(env_id)
    if choice is None:
        logger.info("env.id=%s is not a worldplan env: configuring it with env=%s (add env=%s to say so)",
                    env_id, adapter, adapter)
        return [f"env={adapter}", *overrides]
    if configures_goal_env(choice):
        raise ValueError(f"env={choice} configures a worldplan env, not env.id={env_id}: replace env={choice} "
                         f"with env={adapter}")
    return overrides
