"""OmegaConf resolvers the packaged configs use; ``register_resolvers`` runs before composing.

``${env_name_of:${env.id}}`` turns any env id into a name fit for one folder (``workdir: runs/${env.name}``):
``dmc:point_mass-easy`` -> ``point_mass-easy``, ``point2d.py:Point2D`` -> ``Point2D``,
``my_pkg:worldplan_test/Point-v0`` -> ``Point-v0``.
"""

from __future__ import annotations

import re

from omegaconf import OmegaConf

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")  # anything else could split a path or upset a shell
FALLBACK_NAME = "custom"


def env_name_of(env_id: str) -> str:
    """The env id's last part (after every ``:`` and ``/``), other characters than letters, digits,
    ``.``, ``_`` and ``-`` replaced by ``_``; ``custom`` when nothing is left."""
    last = re.split(r"[:/\\]", str(env_id))[-1]
    return UNSAFE.sub("_", last).strip("._") or FALLBACK_NAME


RESOLVERS = {"env_name_of": env_name_of}


def register_resolvers() -> None:
    """Register every resolver of ``RESOLVERS`` with OmegaConf (again is a no-op)."""
    for name, function in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
