"""``worldplan envs``: the registered worldplan envs and the configured one, with goal and success definitions.

``worldplan envs`` lists the shipped envs; with ``env=gym env.id=<id>`` (or ``env=dmc``, or any env
config) it also makes the configured env once and shows what the adapter found for it.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from worldplan.byo import make_env, resolve_env
from worldplan.byo.describe import describe_adapted, describe_registered
from worldplan.byo.factory import ADAPTER_GYM_ID
from worldplan.envs import ENV_IDS
from worldplan.evaluate.goals import supported_goal_sources

KEYS = ("summary", "State", "Action", "Success", "success_threshold", "fps", "Goal policy", "Proprioception",
        "goal sources")


def format_env(description: dict[str, Any], *, configured: bool) -> str:
    """One env as an indented block, its id first."""
    mark = "  (configured: env.id)" if configured else ""
    lines = [f"{description['id']}{mark}"]
    lines += [f"    {key:<18} {description[key]}" for key in KEYS if description.get(key) not in (None, "")]
    return "\n".join(lines)


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan envs``."""
    env_cfg = OmegaConf.to_container(cfg.env, resolve=True)
    env_id, _ = resolve_env(env_cfg)
    print("worldplan envs (success is decided by the env, never seen by the planner):\n")
    for registered in ENV_IDS:
        print(format_env(describe_registered(registered), configured=registered == env_id) + "\n")
    if env_id == ADAPTER_GYM_ID:
        env = make_env(env_cfg)
        try:
            sources = ", ".join(supported_goal_sources(env.unwrapped))
            print(format_env({**describe_adapted(env.unwrapped, env_cfg), "goal sources": sources}, configured=True))
        finally:
            env.close()
