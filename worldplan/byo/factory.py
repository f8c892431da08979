"""Env configs to envs: ``make_env(env_cfg)`` for shipped goal envs and bring-your-own envs alike.

``resolve_env(env_cfg)`` turns an env config into the ``(gym id, kwargs)`` pair that datasets,
checkpoints and results record, and that ``gymnasium.make(id, **kwargs)`` recreates anywhere
worldplan is installed; ``make_env`` hands that pair to the one env factory, ``worldplan.envs.make_env``:

- a registered worldplan ``GoalEnv`` (``worldplan/Wall-v0``, or ``module:id`` of one) is used as it is;
- anything else (a Gymnasium id, ``module:Class``, ``file.py:Class``, ``dmc:<domain>-<task>``) goes
  through ``AdaptedGoalEnv``, registered as ``ADAPTER_GYM_ID`` with the adapter settings of the config
  (``image_size``, ``state``, ``success``, ``latent_threshold``, ``fps``) as its kwargs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator
from omegaconf import DictConfig, OmegaConf

from worldplan.byo.callables import absolute_reference, import_module
from worldplan.envs import make_env as make_env_from_id
from worldplan.envs.base import GoalEnv

ADAPTER_ENV_ID = "worldplan-byo/Adapter-v0"
ADAPTER_GYM_ID = f"worldplan.byo:{ADAPTER_ENV_ID}"  # gym.make imports worldplan.byo (which registers it) first
# Adapter settings read from the env config, with their defaults.
ADAPTER_KEYS: dict[str, Any] = {"image_size": 64, "state": None, "success": None, "latent_threshold": 0.2,
                                "fps": None}
USER_CODE_KEYS = ("state", "success")  # adapter settings that name user code, recorded by absolute path


def _plain(env_cfg: Mapping[str, Any] | DictConfig) -> dict[str, Any]:
    if isinstance(env_cfg, DictConfig):
        return OmegaConf.to_container(env_cfg, resolve=True)
    return dict(env_cfg)


def is_goal_env_id(env_id: str) -> bool:
    """Whether ``env_id`` (or ``module:id``) is a registered Gymnasium id whose entry point is a GoalEnv."""
    if env_id.startswith("dmc:"):
        return False
    module, sep, name = env_id.rpartition(":")
    if sep and "/" not in name:
        return False  # module:Class
    if sep:
        import_module(module)
    if name not in gym.registry:
        return False
    creator = gym.registry[name].entry_point
    creator = load_env_creator(creator) if isinstance(creator, str) else creator
    return isinstance(creator, type) and issubclass(creator, GoalEnv)


def env_identity(env_id: str, kwargs: Mapping[str, Any]) -> str:
    """What two recorded envs (a dataset's, a checkpoint's, the configured one) must share to be the
    same: the gym id without a ``module:`` prefix and, for an adapted env (one gym id for every
    bring-your-own env), the env it wraps, user code named by absolute path and class name
    (``/home/me/point2d.py:Point2D``: two files of the same name in two directories differ)."""
    name = env_id.split(":")[-1]
    if name != ADAPTER_ENV_ID:
        return name
    return f"{name} wrapping {absolute_reference(str(kwargs.get('env')))}"


def records_env(env_id: str) -> bool:
    """Whether a dataset's ``env_id`` names an env that ``resolve_env`` produces (every collected
    dataset's does); imports without a simulator record ``lerobot:<robot>`` or ``minari:<dataset>``."""
    return env_id == ADAPTER_GYM_ID or is_goal_env_id(env_id)


def resolve_env(env_cfg: Mapping[str, Any] | DictConfig) -> tuple[str, dict[str, Any]]:
    """``(gym id, kwargs)`` of the env ``env_cfg`` describes (``id``, ``kwargs`` and the adapter keys);
    user code given by a relative ``file.py:name`` path is recorded by its absolute path.

    Raises:
        ValueError: the config has no ``id``.
    """
    cfg = _plain(env_cfg)
    env_id = cfg.get("id")
    if not env_id:
        raise ValueError("env.id is missing: give a worldplan env id, a Gymnasium id, module:Class or "
                         "dmc:<domain>-<task>")
    env_id, kwargs = absolute_reference(env_id), dict(cfg.get("kwargs") or {})
    if env_id == ADAPTER_GYM_ID or is_goal_env_id(env_id):
        return env_id, kwargs
    settings = {key: cfg.get(key, default) for key, default in ADAPTER_KEYS.items()}
    settings.update({key: absolute_reference(settings[key]) for key in USER_CODE_KEYS if settings[key]})
    return ADAPTER_GYM_ID, {"env": env_id, "env_kwargs": kwargs, **settings}


def make_env(env_cfg: Mapping[str, Any] | DictConfig, *, max_steps: int | None = None) -> gym.Env:
    """The env ``env_cfg`` describes (see ``resolve_env``); ``max_steps`` sets a time limit.

    Raises:
        ValueError: see ``resolve_env`` and ``worldplan.envs.make_env``.
    """
    return make_env_from_id(*resolve_env(env_cfg), max_steps=max_steps)

