"""Find DINOv2 weights for a timm model, offline first, and load them into the model.

Order for ``weights="auto"``: the Hugging Face hub cache (timm's ``timm/<model>.<tag>`` repo), the
torch hub cache (``<torch hub dir>/checkpoints/dinov2_vits14_pretrain.pth``, facebookresearch key
names, converted to timm's), then a hub download as ``allow_download`` says: ``auto`` unless
``HF_HUB_OFFLINE`` is set or the hub does not answer within 2 s, ``true`` always, ``false`` never
(the probe runs only when no cache has the weights, so cached runs never wait). A path loads that
file (``.safetensors``, ``.pth``, ``.pt``, ``.bin``; pickles only with ``weights_only=True``). When
nothing is found, `WeightsNotFoundError` lists every place looked and how to supply weights.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from worldplan.models.hub import hf_cache_dir, hub_offline, hub_reachable

logger = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
HF_FILENAMES = ("model.safetensors", "pytorch_model.bin")
DOWNLOAD_MODES = ("auto", "true", "false")
PROBE_TIMEOUT_S = 2.0


class WeightsNotFoundError(FileNotFoundError):
    """No encoder weights at any of the places looked; the message says where and what to do."""


@dataclass(frozen=True)
class WeightsFile:
    """A located weights file: ``path`` on disk and ``source`` (how it was found)."""

    path: Path
    source: str


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def torch_hub_checkpoint_dir() -> Path:
    """``<torch hub dir>/checkpoints``, honouring ``TORCH_HOME`` at call time."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _pretrained_cfg(model: nn.Module) -> dict:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return dict(cfg)


def _find_in_hf_cache(hub_id: str, cache: Path, looked: list[str]) -> WeightsFile | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in HF_FILENAMES:
        looked.append(f"Hugging Face cache: {cache} (repo {hub_id}, file {filename})")
        found = try_to_load_from_cache(hub_id, filename, cache_dir=str(cache))
        if isinstance(found, str) and os.path.isfile(found):
            return WeightsFile(Path(found), f"hf-cache:{hub_id}/{filename}")
    return None


def download_mode(allow_download: bool | str) -> str:
    """``encoder.allow_download`` as ``auto``, ``true`` or ``false`` (booleans and their strings accepted).

    Raises:
        ValueError: any other value.
    """
    mode = str(allow_download).lower()
    if mode not in DOWNLOAD_MODES:
        raise ValueError(f"encoder.allow_download must be auto (download unless offline), true or false; "
                         f"got {allow_download!r}")
    return mode


def _download_blocker(mode: str) -> tuple[str, str] | None:
    """Why a download may not happen now and how to allow it, or None when it may."""
    if mode == "false":
        return "encoder.allow_download=false", "set encoder.allow_download=auto (or true) to fetch them from the hub"
    if mode == "auto" and hub_offline():
        return "HF_HUB_OFFLINE is set", "unset HF_HUB_OFFLINE where there is internet: allow_download=auto fetches them"
    if mode == "auto" and not hub_reachable(PROBE_TIMEOUT_S):
        return (f"the hub did not answer within {PROBE_TIMEOUT_S:g} s",
                "connect to the internet (or set HF_ENDPOINT to a mirror): allow_download=auto then fetches them")
    return None


def locate_weights(model: nn.Module, *, allow_download: bool | str) -> WeightsFile:
    """Find pretrained weights for a timm ``model`` (its ``pretrained_cfg`` names the files).

    Args:
        model: the timm ViT.
        allow_download: ``auto`` (download when no cache has them unless offline), ``true`` or ``false``.

    Raises:
        WeightsNotFoundError: no cache holds them and downloading is off, impossible or failed.
    """
    mode = download_mode(allow_download)
    cfg = _pretrained_cfg(model)
    looked: list[str] = []
    hub_id = cfg.get("hf_hub_id")
    if hub_id:
        found = _find_in_hf_cache(hub_id, hf_cache_dir(), looked)
        if found:
            return found
    url = cfg.get("url")
    if url:
        path = torch_hub_checkpoint_dir() / os.path.basename(url)
        looked.append(f"torch hub cache: {path}")
        if path.is_file():
            return WeightsFile(path, f"torch-hub-cache:{path.name}")
    remedy = None
    if hub_id:
        found, remedy = _try_download(hub_id, mode, looked)
        if found:
            return found
    raise WeightsNotFoundError(_not_found_message(cfg.get("architecture", "?"), looked, remedy))


def _try_download(hub_id: str, mode: str, looked: list[str]) -> tuple[WeightsFile | None, str | None]:
    """Download when ``mode`` and the network allow it; else (None, how to allow it)."""
    looked.append(f"download from the Hugging Face hub: {hub_id}")
    blocker = _download_blocker(mode)
    if blocker:
        looked[-1] += f" (skipped: {blocker[0]})"
        return None, blocker[1]
    return _download(hub_id, looked), None


def _download(hub_id: str, looked: list[str]) -> WeightsFile | None:
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(hub_id, HF_FILENAMES[0], cache_dir=str(hf_cache_dir()))
    except Exception as err:  # network, auth and missing-file errors all mean "not downloaded"
        looked[-1] += f" (failed: {type(err).__name__}: {err})"
        return None
    return WeightsFile(Path(path), f"download:{hub_id}/{HF_FILENAMES[0]}")


def _not_found_message(model_name: str, looked: list[str], download_remedy: str | None) -> str:
    places = "\n".join(f"  - {place}" for place in looked) or "  - (the model names no pretrained files)"
    download = f"\n  - {download_remedy}" if download_remedy else ""
    return (
        f"no DINOv2 weights found for {model_name!r}. Looked in:\n{places}\n"
        "Supply them one of these ways (see docs/weights.md):\n"
        "  - encoder.weights=/path/to/weights.safetensors (or .pth / .bin)\n"
        "  - put the file in one of the cache locations above (HF_HUB_CACHE / TORCH_HOME move them)"
        f"{download}\n"
        "  - encoder.weights=random for offline tests (random init: features are meaningless)"
    )


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of the safetensors file ``path`` (CPU).

    Raises:
        ValueError: the file is truncated, a torch pickle, or otherwise not safetensors; the message names
            the file and what it holds.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except SafetensorError as err:
        with open(path, "rb") as handle:
            head = handle.read(2)
        found = ("a torch pickle (torch.save), not a safetensors file" if head[:1] == b"\x80" or head == b"PK"
                 else f"truncated or not a safetensors file ({err})")
        raise ValueError(f"{path} is {found}: write it again with safetensors.torch.save_file (a torch pickle "
                         "belongs in a .pth / .pt / .bin file)") from None


def read_torch_pickle(path: Path) -> Any:
    """``torch.load`` of ``path`` with ``weights_only=True``: tensors and plain containers only, no code run.

    Raises:
        ValueError: the file is truncated, not a torch file, or holds other objects (a whole pickled model).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        reason = str(err).splitlines()[0] if "weights_only" not in str(err).splitlines()[0] else "unsupported objects"
        raise ValueError(f"{path} is not a torch file of plain tensors ({reason}): it may be truncated or hold a "
                         "whole pickled model; save the state dict alone (torch.save(model.state_dict(), path)) "
                         "or convert it to .safetensors") from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a weights file into a flat ``{name: tensor}`` dict (CPU).

    Raises:
        FileNotFoundError: no such file.
        ValueError: unknown suffix, an unreadable file, or a pickle that is not a tensor dict.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"encoder weights file not found: {path}")
    if path.suffix not in WEIGHT_SUFFIXES:
        raise ValueError(f"encoder weights must be one of {', '.join(WEIGHT_SUFFIXES)}; got {path.name}")
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    state = read_torch_pickle(path)
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a flat dict of tensors (a state dict)")
    return state


def load_into(model: nn.Module, state: dict[str, torch.Tensor], *, origin: str) -> None:
    """Convert ``state`` to timm names (facebookresearch DINOv2 keys included) and load it strictly.

    Raises:
        ValueError: keys missing or unexpected, or shapes that differ; the message names them.
    """
    from timm.models.vision_transformer import checkpoint_filter_fn

    converted = checkpoint_filter_fn(dict(state), model)
    own = model.state_dict()
    missing = sorted(set(own) - set(converted))
    unexpected = sorted(set(converted) - set(own))
    shapes = [
        f"{k}: file {tuple(converted[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(converted))
        if converted[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = [f"missing {missing[:8]}" if missing else "", f"unexpected {unexpected[:8]}" if unexpected else ""]
        parts.append(f"shape mismatches {shapes[:8]}" if shapes else "")
        raise ValueError(
            f"encoder weights from {origin} do not fit {type(model).__name__} "
            f"({'; '.join(p for p in parts if p)}); check encoder.model matches the file"
        )
    model.load_state_dict(converted, strict=True)
