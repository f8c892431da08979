"""What ``worldplan envs`` shows: each env's goal and success definitions, from the code itself.

Shipped envs are described from their class (no instance is made): the first docstring line, the
``- State:``, ``- Action:``, ``- Success:`` (or ``- Success (source):``), ``- Goal policy:`` and
``- Proprioception:`` bullets of the docstring, the
``success_threshold`` and the control rate. An adapted (bring-your-own) env is made once and
described from what the adapter found: state source and size, whether its state can be set, the
and success source (``worldplan envs`` adds the goal sources it supports).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from worldplan.byo.inner import LATENT_THRESHOLD

BULLETS = ("State", "Action", "Success", "Goal policy", "Proprioception")


def docstring_fields(cls: type) -> dict[str, str]:
    """``{"summary": first line, "State": ..., ...}`` from a class docstring's ``- Name: text`` bullets."""
    doc = inspect.getdoc(cls) or ""
    fields = {"summary": doc.splitlines()[0] if doc else ""}
    for name in BULLETS:
        found = re.search(rf"^- {name}(?: \([^)]*\))?: (.*(?:\n  +(?!- ).*)*)", doc, flags=re.MULTILINE)
        if found:
            fields[name] = " ".join(part.strip() for part in found.group(1).splitlines())
    return fields


def describe_registered(env_id: str) -> dict[str, Any]:
    """The description of a shipped env from its registered class."""
    cls = load_env_creator(gym.registry[env_id].entry_point)
    return {"id": env_id, **docstring_fields(cls), "success_threshold": cls.success_threshold,
            "fps": cls.metadata.get("render_fps")}


def describe_adapted(env: Any, env_cfg: dict[str, Any]) -> dict[str, Any]:
    """The description of an adapted env instance (``AdaptedGoalEnv``), made from ``env_cfg``."""
    state_dim = int(env.reset(seed=0)[1]["state"].size)
    success = env.success_source
    if success == LATENT_THRESHOLD:
        success += f" (latent distance to the goal image <= {env.success_threshold:g} x the start's)"
    return {"id": env_cfg["id"], "summary": f"{env.name} through the worldplan.byo adapter",
            "State": f"{state_dim} values from {env.state_source}; "
                     f"{'settable' if env.can_set_state else 'not settable (no get_state/set_state)'}",
            "Action": f"{env.action_space}", "Success": success, "success_threshold": env.success_threshold,
            "fps": env.metadata["render_fps"]}
