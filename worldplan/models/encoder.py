"""Frozen DINOv2 encoder (timm): uint8 frames in, patch features out.

Axis legend: S image side in pixels, P patches per frame, D feature size.

``FrozenEncoder(frames (..., S, S, 3) uint8) -> (..., P, D)`` float32: frames are resized to
``image_size`` (a multiple of the patch size, 14), ImageNet-normalised, run through the ViT, and only
the patch tokens are kept (class and register tokens dropped); ``pool=k`` average-pools the patch
grid to k x k tokens. The encoder never trains: parameters are frozen and it stays in eval mode.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import timm
import torch
import torch.nn.functional as F
from torch import nn

from worldplan.models.precision import autocast, resolve_device, resolve_dtype
from worldplan.models.weights import download_mode, file_sha256, load_into, locate_weights, read_state_dict

logger = logging.getLogger(__name__)

PATCH_SIZE = 14
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_INIT_SEED = 0  # random weights are seeded, so "random" names one fixed encoder


class FrozenEncoder(nn.Module):
    """A frozen timm DINOv2 ViT that maps uint8 frames to patch features.

    Args:
        model: timm model name, e.g. ``vit_small_patch14_dinov2`` or ``vit_base_patch14_reg4_dinov2``.
        weights: ``auto`` (local caches, then download if allowed), ``random`` (seeded random init,
            for offline tests), or a path to a ``.safetensors`` / ``.pth`` / ``.bin`` file.
        image_size: side the frames are resized to; a multiple of 14.
        pool: ``None`` keeps the full patch grid; ``k`` average-pools it to k x k tokens.
        dtype: ``auto | bf16 | fp32`` compute precision (``auto``: bf16 on AMX CPUs and bf16 CUDA).
        allow_download: whether ``weights=auto`` fetches from the Hugging Face hub when no cache has
            them: ``auto`` (unless ``HF_HUB_OFFLINE`` is set or the hub does not answer within 2 s),
            ``true`` (always try) or ``false`` (never).
        arch: timm architecture overrides (e.g. ``embed_dim``, ``depth``, ``num_heads``) for tiny
            test encoders; only with ``weights=random`` or a file of that shape.
        batch_size: frames per forward pass (bounds memory for long videos).
        device: where the encoder runs.
    """

    def __init__(
        self,
        *,
        model: str = "vit_small_patch14_dinov2",
        weights: str = "auto",
        image_size: int = 112,
        pool: int | None = None,
        dtype: str = "auto",
        allow_download: bool | str = "auto",
        arch: Mapping[str, Any] | None = None,
        batch_size: int = 64,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        _validate(model, image_size, batch_size)
        self.settings = {
            "model": model, "weights": str(weights), "image_size": int(image_size), "pool": pool,
            "dtype": dtype, "allow_download": download_mode(allow_download), "arch": dict(arch or {}),
            "batch_size": int(batch_size),
        }
        self.vit = self._create(model, dict(arch or {}), int(image_size))
        grid = tuple(self.vit.patch_embed.grid_size)
        if pool is not None and not 1 <= int(pool) <= min(grid):
            raise ValueError(f"encoder.pool must be null or in [1, {min(grid)}] for a {grid} patch grid; got {pool}")
        self.grid: tuple[int, int] = (int(pool), int(pool)) if pool is not None else grid
        self.dim: int = int(self.vit.embed_dim)
        self._source, self._sha256 = self._load_weights(str(weights), self.settings["allow_download"], bool(arch))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.to(resolve_device(device))
        self.compute_dtype = resolve_dtype(dtype, self.device)
        self.eval()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], *, device: str | torch.device = "cpu") -> FrozenEncoder:
        """Build from an ``encoder`` config group (keys as in ``configs/encoder/*.yaml``)."""
        known = {"model", "weights", "image_size", "pool", "dtype", "allow_download", "arch", "batch_size"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f"unknown encoder config keys {unknown}; known: {sorted(known)}")
        kwargs = {k: (dict(v) if k == "arch" and v is not None else v) for k, v in cfg.items()}
        return cls(**kwargs, device=device)

    @staticmethod
    def _create(model: str, arch: dict[str, Any], image_size: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            return timm.create_model(model, pretrained=False, num_classes=0, img_size=image_size, **arch)

    def _load_weights(self, weights: str, allow_download: str, has_arch: bool) -> tuple[str, str | None]:
        if weights == "random":
            logger.warning("encoder %s uses RANDOM weights (encoder.weights=random): features are not "
                           "DINOv2 features; fine for tests, meaningless for planning", self.settings["model"])
            return "random", None
        if weights == "auto":
            if has_arch:
                raise ValueError("encoder.arch changes the architecture, so no pretrained DINOv2 weights fit: "
                                 "use encoder.weights=random or a path to a file of that shape")
            found = locate_weights(self.vit, allow_download=allow_download)
            path, source = found.path, found.source
        else:
            path, source = weights, f"file:{weights}"
        load_into(self.vit, read_state_dict(path), origin=str(path))
        logger.info("encoder %s weights from %s", self.settings["model"], source)
        return source, file_sha256(path)

    @property
    def device(self) -> torch.device:
        """The device the encoder's parameters live on."""
        return self.mean.device

    @property
    def num_patches(self) -> int:
        """P, tokens per frame after pooling."""
        return self.grid[0] * self.grid[1]

    def train(self, mode: bool = True) -> FrozenEncoder:
        """Stay in eval mode whatever is asked: the encoder is frozen."""
        return super().train(False)

    def identity(self) -> dict[str, Any]:
        """JSON-able description of exactly which features this encoder produces."""
        return {
            "model": self.settings["model"], "arch": self.settings["arch"], "weights": self._source,
            "weights_sha256": self._sha256, "timm_version": timm.__version__,
            "image_size": self.settings["image_size"], "pool": self.settings["pool"],
            "dtype": self.compute_dtype, "grid": list(self.grid), "dim": self.dim,
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "resize": "bilinear-antialias",
        }

    def cache_key(self) -> str:
        """Short directory-safe key for feature caches: model, size, pooling, dtype and an identity hash."""
        ident = self.identity()
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
        pool = f"pool{ident['pool']}" if ident["pool"] is not None else "full"
        return f"{ident['model']}-{ident['image_size']}px-{pool}-{ident['dtype']}-{digest}"

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode frames.

        Args:
            frames: (..., S, S, 3) uint8 RGB, any S (resized to ``image_size``).

        Returns:
            (..., P, D) float32 patch features on the encoder's device.
        """
        check_frames(frames)
        lead, side = frames.shape[:-3], frames.shape[-2]
        flat = frames.reshape(-1, side, side, 3)
        step = self.settings["batch_size"]
        chunks = [self._encode(flat[i : i + step]) for i in range(0, flat.shape[0], step)]
        out = torch.cat(chunks) if chunks else flat.new_zeros((0, self.num_patches, self.dim), dtype=torch.float32)
        return out.reshape(*lead, self.num_patches, self.dim)

    def _encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(M, S, S, 3) uint8 -> (M, P, D) float32."""
        x = frames.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        size = self.settings["image_size"]
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        x = (x - self.mean) / self.std
        with autocast(self.device, self.compute_dtype):
            tokens = self.vit.forward_features(x)[:, self.vit.num_prefix_tokens :]
        tokens = tokens.float()
        if self.settings["pool"] is not None:
            h, w = self.vit.patch_embed.grid_size
            grid = tokens.transpose(1, 2).reshape(tokens.shape[0], self.dim, h, w)
            tokens = F.adaptive_avg_pool2d(grid, self.grid).flatten(2).transpose(1, 2)
        return tokens.contiguous()


def check_frames(frames: torch.Tensor) -> None:
    """Raise ValueError unless ``frames`` is (..., S, S, 3) uint8 with square images."""
    if frames.dtype != torch.uint8:
        raise ValueError(f"frames must be uint8 RGB (..., S, S, 3); got dtype {frames.dtype}")
    if frames.ndim < 3 or frames.shape[-1] != 3 or frames.shape[-2] != frames.shape[-3]:
        raise ValueError(f"frames must be (..., S, S, 3) square RGB images; got shape {tuple(frames.shape)}")


def _validate(model: str, image_size: int, batch_size: int) -> None:
    if not timm.is_model(model):
        options = ", ".join(timm.list_models("*dinov2*"))
        raise ValueError(f"unknown timm model {model!r}; DINOv2 options: {options}")
    if image_size <= 0 or image_size % PATCH_SIZE:
        raise ValueError(f"encoder.image_size must be a positive multiple of {PATCH_SIZE}; got {image_size}")
    if batch_size <= 0:
        raise ValueError(f"encoder.batch_size must be positive; got {batch_size}")
