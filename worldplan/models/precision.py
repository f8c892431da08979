"""Compute precision: resolve ``auto | bf16 | fp32`` for a device and open the matching autocast.

bf16 autocast is the fast path on CPUs with AMX (several times the fp32 matmul throughput) and on
CUDA devices that support bf16; ``auto`` picks it there and fp32 elsewhere.
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


def resolve_dtype(dtype: str, device: str | torch.device) -> str:
    """Resolve ``auto | bf16 | fp32`` to ``"bf16"`` or ``"fp32"`` for ``device``.

    Raises:
        ValueError: ``dtype`` is not one of the three names.
    """
    if dtype == "auto":
        dev = resolve_device(device)
        if dev.type == "cpu":
            return "bf16"
        if dev.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of auto, bf16, fp32; got {dtype!r}")
    return dtype


@contextlib.contextmanager
def autocast(device: str | torch.device, dtype: str) -> Iterator[None]:
    """Autocast to bf16 on ``device`` when ``dtype`` resolves to bf16; a no-op for fp32."""
    dev = resolve_device(device)
    if resolve_dtype(dtype, dev) == "bf16":
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16):
            yield
    else:
        yield
