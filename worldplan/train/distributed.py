"""One process, one GPU or torchrun DDP: the process context the trainer runs in.

Under ``torchrun`` (``python -m torch.distributed.run``) the env vars ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` are set; ``init_distributed`` then joins the process group (NCCL on CUDA devices,
gloo on CPU) and pins each process to ``cuda:LOCAL_RANK`` when the device is CUDA. Without them it
is a single process on the resolved device. Rank 0 is the one that writes files and logs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from worldplan.models.precision import resolve_device

__all__ = ["DistContext", "init_distributed", "shutdown", "wrap_model", "all_reduce_mean", "gather_objects"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank among ``world_size`` processes and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on the process that writes checkpoints, logs and progress bars."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        """True when several processes train together."""
        return self.world_size > 1


def _env_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"WORLD_SIZE is set but {name} is not: launch with torchrun or set all of RANK, LOCAL_RANK")
    return int(value)


def init_distributed(device: str = "auto") -> DistContext:
    """Read the torchrun env vars and join the process group if there are several processes.

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; under DDP a CUDA device becomes
            ``cuda:LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    resolved = resolve_device(device)
    if world_size <= 1:
        return DistContext(rank=0, world_size=1, local_rank=0, device=resolved)
    rank, local_rank = _env_int("RANK"), _env_int("LOCAL_RANK")
    if resolved.type == "cuda":
        resolved = torch.device("cuda", local_rank)
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        backend = "nccl" if resolved.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
        log.info("rank %d/%d joined the %s process group on %s", rank, world_size, backend, resolved)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=resolved)


def shutdown(ctx: DistContext) -> None:
    """Leave the process group (no-op for a single process)."""
    if ctx.is_distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap_model(model: nn.Module, ctx: DistContext) -> nn.Module:
    """Wrap in DistributedDataParallel under DDP; return the model unchanged otherwise."""
    if not ctx.is_distributed:
        return model
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def all_reduce_mean(value: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The mean of ``value`` over all processes (a copy; the input is untouched)."""
    value = value.detach().clone()
    if ctx.is_distributed:
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= ctx.world_size
    return value


def gather_objects(obj: Any, ctx: DistContext) -> list[Any]:
    """Every process's ``obj``, in rank order (a one-element list for a single process)."""
    if not ctx.is_distributed:
        return [obj]
    gathered: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(gathered, obj)
    return gathered
