"""Which source produced a file: the git commit of the worldplan checkout, recorded in checkpoints and results."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import worldplan


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
