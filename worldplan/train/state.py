"""The trainer's resume state: weights, optimiser, step and every process's RNG states.

Written atomically (``worldplan.atomic``) as ``trainer_state.pt`` beside the model
checkpoint, by rank 0. It holds its own copy of the trainable module's weights, so a resume is
consistent even if a crash fell between writing the model checkpoint and this file.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from worldplan.atomic import atomic_path

__all__ = ["STATE_FILE", "capture_rng", "restore_rng", "save_state", "load_state", "state_sha256"]

STATE_FILE = "trainer_state.pt"


def capture_rng() -> dict[str, Any]:
    """This process's RNG states (python, numpy, torch CPU and CUDA) as tensors and plain types."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _numpy_state_to_plain(np.random.get_state()),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back the RNG states written by ``capture_rng``."""
    random.setstate(_as_python_state(state["python"]))
    np.random.set_state(_numpy_state_from_plain(state["numpy"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_python_state(state: Any) -> tuple:
    # random.getstate() is a nested tuple; a round-trip through torch.save may give lists back.
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


def _numpy_state_to_plain(state: tuple) -> dict[str, Any]:
    # ndarray is not allowed by torch.load(weights_only=True); a tensor is.
    key, keys, pos, has_gauss, gauss = state
    return {"key": key, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos, "has_gauss": has_gauss,
            "gauss": gauss}


def _numpy_state_from_plain(state: dict[str, Any]) -> tuple:
    keys = state["keys"].numpy().astype(np.uint32)
    return (state["key"], keys, state["pos"], state["has_gauss"], state["gauss"])


def save_state(directory: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``directory/trainer_state.pt`` atomically; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_state(directory: Path) -> dict[str, Any] | None:
    """The state saved in ``directory``, or None if there is none."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over a state dict's names and tensor bytes (sorted by name): equal iff bit-identical."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous().reshape(-1)
        digest.update(name.encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()
