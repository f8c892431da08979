"""3-axial rotary position embedding over (time in seconds, row, column).

Axis legend: B batch, L tokens, P patches per frame, T frames, d head size.

The head size is split in three even parts, one per axis. Each part rotates pairs of channels by
``angle = position * freq``, with frequencies spaced geometrically from ``pi`` down to
``pi / base``. Positions: time in seconds times ``time_scale`` (so one unit is ``1 / time_scale``
seconds), rows and columns of the patch grid as patch centres in [-1, 1] times ``spatial_scale``.
Because queries and keys are rotated the same way, attention scores depend on the difference of
positions only: a prediction depends on how far in the future it is, not on absolute time.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def split_pairs(head_dim: int) -> tuple[int, int, int]:
    """Channel pairs given to (time, row, column); time gets the remainder.

    Raises:
        ValueError: ``head_dim`` is odd or too small for three axes.
    """
    if head_dim % 2 or head_dim < 6:
        raise ValueError(f"3-axial RoPE needs an even head size >= 6 (width / heads); got {head_dim}")
    pairs = head_dim // 2
    spatial = pairs // 3
    return pairs - 2 * spatial, spatial, spatial


def grid_coords(grid: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column of every patch centre in [-1, 1], row-major: two (P,) tensors."""
    h, w = grid
    rows = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 2 - 1
    cols = (torch.arange(w, dtype=torch.float32) + 0.5) / w * 2 - 1
    rr, cc = torch.meshgrid(rows, cols, indexing="ij")
    return rr.reshape(-1), cc.reshape(-1)


class AxialRoPE(nn.Module):
    """Rotary embedding over (time, row, column) for tokens laid out as frames x patch grid.

    Args:
        head_dim: d, the attention head size (even, >= 6).
        grid: (h, w) patch grid; P = h * w.
        base: ratio of the highest to the lowest frequency on each axis.
        time_scale: multiplies time in seconds before rotation.
        spatial_scale: multiplies the [-1, 1] patch coordinates before rotation.
    """

    def __init__(
        self, *, head_dim: int, grid: tuple[int, int], base: float, time_scale: float, spatial_scale: float
    ) -> None:
        super().__init__()
        self.pairs = split_pairs(head_dim)
        freqs = [math.pi * base ** (-torch.arange(n, dtype=torch.float64) / n) for n in self.pairs]
        self.register_buffer("freq_t", freqs[0].float(), persistent=False)
        rows, cols = grid_coords(grid)
        spatial = torch.cat(
            [rows[:, None] * spatial_scale * freqs[1].float(), cols[:, None] * spatial_scale * freqs[2].float()], -1
        )
        self.register_buffer("spatial_angles", spatial, persistent=False)  # (P, pairs_row + pairs_col)
        self.time_scale = float(time_scale)

    def angles(self, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cos and sin for every patch of frames at ``times``.

        Args:
            times: (..., T) seconds.

        Returns:
            cos, sin: (..., T * P, d / 2) float32, frames major, patches row-major.
        """
        t = times.float()[..., None] * self.time_scale * self.freq_t  # (..., T, pairs_t)
        num_p = self.spatial_angles.shape[0]
        t = t.unsqueeze(-2).expand(*t.shape[:-1], num_p, t.shape[-1])
        s = self.spatial_angles.expand(*t.shape[:-1], self.spatial_angles.shape[-1])
        ang = torch.cat([t, s], -1).flatten(-3, -2)
        return ang.cos(), ang.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (i, i + d/2) of ``x``.

    Args:
        x: (..., L, d) queries or keys (heads as a leading axis).
        cos, sin: broadcastable to (..., L, d / 2).

    Returns:
        (..., L, d) rotated, in ``x``'s dtype.
    """
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)
