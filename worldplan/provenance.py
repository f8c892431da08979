"""Which source and machine produced a file: the git commit of the worldplan checkout and the machine a run was
timed on, recorded in checkpoints and benchmark stage records."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

import worldplan

CPUINFO = Path("/proc/cpuinfo")  # Linux
SPEED_FLAGS = ("amx_tile", "amx_bf16", "avx512_bf16", "avx512f", "avx2")  # CPU features that set torch's speed


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit worldplan runs from (``git rev-parse HEAD`` of its checkout), or None outside a git checkout
    (an installed wheel) or without git. Uncommitted changes are not seen: a result from a modified tree names
    its last commit. Cached: one ``git`` call per process."""
    root = Path(worldplan.__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


@lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    """The machine a run is timed on: CPU model, logical CPUs, which of ``SPEED_FLAGS`` it has, GPU and torch.

    Seconds measured on one machine do not carry to another: on an AMX CPU ``auto`` precision trains and encodes
    in bf16, on an AVX2-only one in fp32 (where bf16 matmuls are about 50x slower), and the CPUs lent to this
    project change between sessions. Cached: one read of ``/proc/cpuinfo`` per process."""
    return {"cpu": _cpu_field("model name") or platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "cpu_flags": [f for f in SPEED_FLAGS if f in (_cpu_field("flags") or "").split()],
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None, "torch": torch.__version__}


def _cpu_field(name: str) -> str | None:
    """The first ``name : value`` of ``CPUINFO``, or None where there is none."""
    try:
        lines = CPUINFO.read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.split(":", 1)[0].strip() == name), None)
