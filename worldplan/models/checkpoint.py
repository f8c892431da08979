"""World-model checkpoints: a directory with ``model.safetensors`` and ``meta.json``.

``meta.json`` holds everything needed to rebuild the model without its original config: predictor
architecture, encoder settings and identity (weights source and SHA-256), preprocessing, data
window, action / proprio normalisation, worldplan version, git commit, and the caller's ``meta``
(e.g. ``{"train": ...}``). Encoder weights are stored only when they are random (they cannot be
found again otherwise); pretrained DINOv2 weights are looked up again on load and their hash
checked.

A checkpoint is written to a temporary sibling directory (``worldplan.atomic.temp_path``) and then
swapped with the older one in one step (Linux ``renameat2(RENAME_EXCHANGE)``), so the path always
holds a complete checkpoint; where the swap is unsupported the older one is moved aside first (a
moment without a checkpoint). Temporary and moved-aside directories that a killed save left behind
are removed by the next save to the same path.

Every loader also takes a hub reference, ``hf://<user>/<repo>[@<revision>][/<subdir>]``: the
checkpoint's files are fetched into (or, offline, read from) the local Hugging Face cache and
loaded with the same checks (``worldplan.models.hub``); `upload_checkpoint` shares one that way.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from safetensors.torch import save_file

import worldplan
from worldplan.atomic import temp_path
from worldplan.models.actions import load_pretrained_predictor
from worldplan.models.encoder import FrozenEncoder
from worldplan.models.hub import fetch_folder, is_hub_ref, upload_folder
from worldplan.models.predictor import Predictor
from worldplan.models.weights import read_safetensors
from worldplan.models.world_model import DataWindow, WorldModel
from worldplan.provenance import git_commit, machine

logger = logging.getLogger(__name__)

FORMAT, FORMAT_VERSION = "worldplan.checkpoint", 2  # 2: predictor feature statistics
MODEL_FILE, META_FILE = "model.safetensors", "meta.json"
CHECKPOINT_FILES = (MODEL_FILE, META_FILE)
AT_FDCWD, RENAME_EXCHANGE = -100, 2  # renameat2: paths relative to the working directory; swap the two
RESERVED = ("format", "format_version", "worldplan_version", "git_commit", "created", "predictor", "encoder",
            "encoder_identity", "encoder_in_file", "window", "frame_size", "action_normalization",
            "proprio_normalization", "machine")


class CheckpointError(ValueError):
    """A path is not a worldplan checkpoint, or its weights do not fit the model being loaded."""


def _stats(model: WorldModel, name: str) -> dict[str, list[float]] | None:
    mean = getattr(model, f"{name}_mean", None)
    return None if mean is None else {"mean": mean.tolist(), "std": getattr(model, f"{name}_std").tolist()}


def checkpoint_meta(model: WorldModel, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``meta.json`` content for ``model`` plus the caller's ``meta`` (must avoid reserved keys)."""
    clash = sorted(set(meta) & set(RESERVED))
    if clash:
        raise ValueError(f"meta keys {clash} are reserved by the checkpoint format; rename them (e.g. under 'train')")
    enc = model.encoder
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "worldplan_version": worldplan.__version__,
        "git_commit": git_commit(), "machine": machine(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "predictor": model.predictor.arch, "encoder": None if enc is None else enc.settings,
        "encoder_identity": None if enc is None else enc.identity(),
        "encoder_in_file": enc is not None and enc.identity()["weights"] == "random",
        "window": model.window.to_dict(), "frame_size": model.frame_size,
        "action_normalization": _stats(model, "action"), "proprio_normalization": _stats(model, "proprio"),
        **dict(meta),
    }


def _to_json(content: Mapping[str, Any]) -> str:
    """``content`` as indented JSON; OmegaConf containers (a training config) become plain ones."""
    plain = {k: OmegaConf.to_container(v, resolve=True) if isinstance(v, (DictConfig, ListConfig)) else v
             for k, v in content.items()}
    try:
        return json.dumps(plain, indent=2, sort_keys=True)
    except TypeError as err:
        raise ValueError(f"checkpoint meta must be JSON-serialisable (plain dicts, lists, numbers, strings): "
                         f"{err}") from err


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _leftovers(path: Path) -> list[Path]:
    """Temporary (``.tmp-<pid>-<name>``) and moved-aside (``.old-<pid>-<name>``) siblings of ``path``."""
    pattern = re.compile(rf"\.(tmp|old)-\d+-{re.escape(path.name)}")
    return [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)] if path.parent.is_dir() else []


def _replace_dir(tmp: Path, path: Path) -> None:
    """Move the finished ``tmp`` directory to ``path``, replacing an older checkpoint there."""
    if not path.exists():
        os.replace(tmp, path)
        return
    if not (path / META_FILE).is_file():
        raise FileExistsError(f"{path} exists and is not a worldplan checkpoint; refusing to overwrite it")
    if _exchange(tmp, path):
        shutil.rmtree(tmp)  # now the older checkpoint
        return
    old = path.with_name(f".old-{os.getpid()}-{path.name}")
    os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old)


def save_checkpoint(path: str | Path, model: WorldModel, *, meta: Mapping[str, Any]) -> Path:
    """Write ``model`` to the directory ``path`` atomically; returns ``path``.

    Args:
        path: checkpoint directory (created; an older checkpoint there is replaced).
        model: the world model; build it with its encoder so the checkpoint can encode frames.
        meta: JSON-able extras recorded in ``meta.json`` (training config, dataset, ...).
    """
    content = checkpoint_meta(model, meta)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
             if content["encoder_in_file"] or not k.startswith("encoder.")}

    def write(tmp: Path) -> None:
        save_file(state, str(tmp / MODEL_FILE))
        (tmp / META_FILE).write_text(_to_json(content))

    path = write_checkpoint_dir(path, write)
    logger.info("saved world model checkpoint to %s", path)
    return path


def write_checkpoint_dir(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a checkpoint-like directory (one holding ``meta.json``) atomically; returns ``path``.

    ``write(tmp)`` fills a fresh temporary sibling directory, which then replaces ``path`` in one step
    (see the module docstring); what an interrupted save left beside ``path`` is removed first.

    Raises:
        FileExistsError: ``path`` exists and holds no ``meta.json`` (not a checkpoint to replace).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in _leftovers(path):
        logger.warning("removing %s, left by an interrupted checkpoint save", leftover)
        shutil.rmtree(leftover)
    tmp = temp_path(path)
    tmp.mkdir()
    try:
        write(tmp)
        _replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def local_checkpoint(path: str | Path) -> Path:
    """The local directory of a checkpoint: ``path`` itself, or a hub reference's folder in the Hugging Face
    cache (fetched if missing and online).

    Raises:
        FileNotFoundError: a hub reference that is neither cached nor downloadable (the message says why).
    """
    return fetch_folder(str(path), CHECKPOINT_FILES) if is_hub_ref(path) else Path(path)


def upload_checkpoint(path: str | Path, ref: str, *, private: bool | None = None) -> str:
    """Share the checkpoint directory ``path`` as hub reference ``ref`` (``hf://<user>/<repo>[@<branch>][/<subdir>]``),
    loadable anywhere with that same ``ref``; needs a hub token. Returns the commit's URL.

    Raises:
        CheckpointError: ``path`` is not a worldplan checkpoint.
    """
    read_checkpoint_meta(path)
    return upload_folder(Path(path), ref, CHECKPOINT_FILES, private=private)


def read_format_meta(path: Path, *, kind: str, fmt: str, version: int, writer: str = "") -> dict[str, Any]:
    """``meta.json`` of directory ``path`` holding a worldplan ``kind`` (a checkpoint, a decoder) of format
    ``fmt``, no newer than ``version``, beside its ``model.safetensors``.

    Raises:
        CheckpointError: unreadable, another format, no weights file, or a newer version; ``writer`` (the
            command that writes one) is named in the message.
    """
    try:
        meta = json.loads((path / META_FILE).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not a worldplan {kind} (unreadable {META_FILE}: {err})") from err
    if not isinstance(meta, dict) or meta.get("format") != fmt or not (path / MODEL_FILE).is_file():
        raise CheckpointError(f"{path} is not a worldplan {kind} (needs {META_FILE} with format {fmt!r} and "
                              f"{MODEL_FILE}{'; ' + writer + ' writes one' if writer else ''})")
    if meta.get("format_version", 0) > version:
        raise CheckpointError(f"{path} has {kind} format {meta['format_version']}; this worldplan reads up to "
                              f"{version}: upgrade worldplan")
    return meta


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """Read and validate ``meta.json`` of a checkpoint directory or hub reference.

    Raises:
        FileNotFoundError: no such directory, or a hub reference not found (see `local_checkpoint`).
        CheckpointError: not a worldplan checkpoint, or another format version.
    """
    path = local_checkpoint(path)
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {path}")
    meta = read_format_meta(path, kind="checkpoint", fmt=FORMAT, version=FORMAT_VERSION)
    if meta.get("format_version", 0) < FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {meta.get('format_version')}, written before predictors "
                              f"standardised their features (format {FORMAT_VERSION}): train it again")
    return meta


def build_world_model(meta: Mapping[str, Any], *, device: str | torch.device = "cpu",
                      with_encoder: bool = True) -> WorldModel:
    """A freshly initialised `WorldModel` with the architecture recorded in ``meta``."""
    arch = dict(meta["predictor"])
    predictor = Predictor(**{**arch, "grid": tuple(arch["grid"])})
    encoder = None
    if with_encoder and meta.get("encoder"):
        encoder = FrozenEncoder.from_config(meta["encoder"], device=device)
        recorded = meta["encoder_identity"]["weights_sha256"]
        if recorded is not None and encoder.identity()["weights_sha256"] != recorded:
            raise CheckpointError(f"encoder weights found now ({encoder.identity()['weights']}) differ from the ones "
                                  f"the checkpoint was trained with (sha256 {recorded[:12]}...): supply those weights")
    return WorldModel(predictor=predictor, window=DataWindow(**meta["window"]), encoder=encoder,
                      frame_size=meta.get("frame_size")).to(device)


def _check_state(own: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], origin: Path) -> None:
    """Raise CheckpointError naming missing, unexpected and mis-shaped tensors."""
    required = {k for k in own if not k.startswith("encoder.")} | {k for k in state if k.startswith("encoder.")}
    missing, unexpected = sorted(required - set(state)), sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(state) & set(own)) if state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        raise CheckpointError(f"checkpoint {origin} does not fit this architecture: missing {missing[:8]}, "
                              f"unexpected {unexpected[:8]}, shape mismatches {shapes[:8]}")


def load_weights_into(model: WorldModel, path: str | Path) -> None:
    """Load a checkpoint's tensors into ``model`` of the same architecture (bit-exact).

    Raises:
        CheckpointError: not a checkpoint, or tensors that do not fit (named in the message).
        ValueError: ``model.safetensors`` is truncated or not safetensors (names the file).
    """
    path = local_checkpoint(path)
    arch, ours = read_checkpoint_meta(path)["predictor"], model.predictor.arch
    diff = [f"{k}: checkpoint {arch.get(k)!r} vs model {ours.get(k)!r}" for k in sorted(set(arch) | set(ours))
            if arch.get(k) != ours.get(k)]
    if diff:
        raise CheckpointError(f"checkpoint {path} has another predictor architecture ({'; '.join(diff)}): "
                              "build the model from the checkpoint with load_world_model, or use its config")
    own = model.state_dict()
    state = read_safetensors(path / MODEL_FILE)
    if model.encoder is None:
        state = {k: v for k, v in state.items() if not k.startswith("encoder.")}
    _check_state(own, state, path)
    with torch.no_grad():
        for key, value in state.items():
            own[key].copy_(value)


def load_world_model(path: str | Path, *, device: str | torch.device = "cpu", with_encoder: bool = True) -> WorldModel:
    """Rebuild and load a world model from a checkpoint directory in one call (eval mode).

    Args:
        path: checkpoint directory written by `save_checkpoint`, or its hub reference ``hf://...``.
        device: where the model goes.
        with_encoder: also build the frozen encoder (finds its weights; skip for cached features).
    """
    path = local_checkpoint(path)
    meta = read_checkpoint_meta(path)
    model = build_world_model(meta, device=device, with_encoder=with_encoder)
    load_weights_into(model, path)
    return model.eval()


def load_pretrained_weights(model: WorldModel, path: str | Path) -> dict:
    """Initialise ``model``'s predictor from an (action-free) pretrained checkpoint for fine-tuning;
    return the checkpoint's ``meta.json``.

    Raises:
        CheckpointError: the checkpoint's encoder features differ from ``model``'s encoder.
        ValueError: the predictor architectures differ (names keys and shapes).
    """
    path = local_checkpoint(path)
    meta = read_checkpoint_meta(path)
    if model.encoder is not None and meta.get("encoder_identity"):
        keys = ("model", "arch", "weights_sha256", "image_size", "pool", "grid", "dim")
        theirs, ours = meta["encoder_identity"], model.encoder.identity()
        diff = [k for k in keys if theirs.get(k) != ours.get(k)]
        if diff:
            raise CheckpointError(f"pretrained checkpoint {path} used other encoder features (differs in {diff}); "
                                  "fine-tune with the same encoder config")
    state = read_safetensors(path / MODEL_FILE)
    load_pretrained_predictor(model.predictor, {k[len("predictor."):]: v for k, v in state.items()
                                                 if k.startswith("predictor.")})
    return meta

