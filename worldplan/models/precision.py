"""Compute precision: resolve ``auto | bf16 | fp32`` for a device and open the matching autocast.

bf16 autocast is the fast path on CPUs with AMX tiles and on CUDA devices that support bf16;
``auto`` picks it there and fp32 elsewhere. Without AMX (e.g. a VM that hides it while exposing
avx512_bf16), CPU bf16 matmuls measured slower than fp32 (benchmarks/rollout.py), so ``auto`` stays
in fp32 on such CPUs.

Training is stricter: ``resolve_train_dtype`` keeps ``auto`` in fp32 on every CPU, AMX included. Wall's
grid trained with bf16 autocast on an AMX CPU gave pretrained models with 2-3x the fp32 grid's 5-step latent
error and half its action sensitivity, and 14-22 points less success at 10 trajectories (docs/results.md,
"Wall's whole grid on the AMX machine"), for a training step only about 1.2x faster than fp32 there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp32": torch.float32}


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``auto | cpu | cuda | cuda:N`` (or a ``torch.device``) into a ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def cpu_has_amx() -> bool:
    """True when this CPU exposes AMX tiles to PyTorch (bf16 matmuls then beat fp32 by several times)."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private probe; absent means unknown: no
    return bool(probe()) if probe is not None else False


def resolve_dtype(dtype: str, device: str | torch.device) -> str:
    """Resolve ``auto | bf16 | fp32`` to ``"bf16"`` or ``"fp32"`` for ``device``.

    Raises:
        ValueError: ``dtype`` is not one of the three names.
    """
    if dtype == "auto":
        dev = resolve_device(device)
        if dev.type == "cpu":
            return "bf16" if cpu_has_amx() else "fp32"
        if dev.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of auto, bf16, fp32; got {dtype!r}")
    return dtype


def resolve_train_dtype(amp: str, device: str | torch.device) -> str:
    """Resolve ``train.amp`` (``auto | bf16 | fp32``): like ``resolve_dtype``, but ``auto`` is fp32 on CPUs.

    Raises:
        ValueError: ``amp`` is not one of the three names.
    """
    if amp == "auto" and resolve_device(device).type == "cpu":
        return "fp32"
    return resolve_dtype(amp, device)


@contextlib.contextmanager
def autocast(device: str | torch.device, dtype: str) -> Iterator[None]:
    """Autocast to bf16 on ``device`` when ``dtype`` resolves to bf16; a no-op for fp32."""
    dev = resolve_device(device)
    if resolve_dtype(dtype, dev) == "bf16":
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16):
            yield
    else:
        yield
