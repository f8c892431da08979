"""DINO-world style latent video predictor: cross-attention from future queries to past frames.

Axis legend: B batch, T frames, P patches per frame, D encoder feature size, W predictor width,
A action size of one model step, Sp proprioception size, M query tokens, L key tokens, h heads,
d head size.

Frozen features of past frames are projected D -> W and serve, through each layer's own key/value
projection, as the memory every query reads. One learned query vector sits at every (future
time, row, column) slot; 3-axial RoPE over (seconds, row, column) on queries and keys tells each
query where and when it is. A stack of pre-norm cross-attention blocks (LayerScale, MLP ratio 4)
refines the queries; a final norm and linear head map them back to D. With a block-causal mask all
frames of a clip are predicted in parallel, frame k from frames < k. Action blocks, when built with
``action_dim``, add the step's action to the queries (zero-initialised, see ``actions.py``); built
with ``proprio_dim`` too, they add the proprioception of the step's last frame, and the refined
queries of a predicted frame also give its proprioception (`Predictor.proprio_output`).

Features are standardised inside the predictor with statistics of its training data, kept as
buffers (``feature_mean``, ``feature_std``, each (P, D)): the input memory and the prediction live
in standardised units, and ``forward``/``predict_at`` return raw features. The training loss is
taken in standardised units (`Predictor.standardize`). Without it, a frozen encoder's features of
a control scene are dominated by what never moves (on Wall with random ViT weights the temporal
variance is 0.5 % of the features' magnitude) and the predictor learns copy-last-frame and
ignores its actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from worldplan.models.actions import ActionConditioner
from worldplan.models.rope import AxialRoPE, apply_rope

ARCH_KEYS = ("width", "depth", "heads", "mlp_ratio", "layer_scale", "rope_base", "rope_time_scale",
             "rope_spatial_scale", "action_every", "residual", "feature_norm")
FEATURE_NORMS = ("patch", "channel", "none")  # statistics per (patch, feature), per feature, or identity


class CrossAttentionBlock(nn.Module):
    """Pre-norm cross-attention (queries read a memory of frame tokens) then an MLP, both LayerScaled."""

    def __init__(self, *, width: int, heads: int, mlp_ratio: float, layer_scale: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm_q, self.norm_kv, self.norm_mlp = nn.LayerNorm(width), nn.LayerNorm(width), nn.LayerNorm(width)
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.gamma_attn = nn.Parameter(torch.full((width,), float(layer_scale)))
        self.gamma_mlp = nn.Parameter(torch.full((width,), float(layer_scale)))

    def keys_values(self, memory: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(..., L, W) frame tokens -> keys (RoPE applied) and values, each (..., h, L, d)."""
        k, v = self.kv(self.norm_kv(memory)).chunk(2, -1)
        k, v = self._split(k), self._split(v)
        return apply_rope(k, cos.unsqueeze(-3), sin.unsqueeze(-3)), v

    def queries(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """(..., M, W) query tokens -> (..., h, M, d) with RoPE applied."""
        q = self._split(self.q(self.norm_q(x)))
        return apply_rope(q, cos.unsqueeze(-3), sin.unsqueeze(-3))

    def update(self, x: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        """Residual updates: x (..., M, W), attended (..., h, M, d) -> (..., M, W)."""
        merged = attended.transpose(-3, -2).flatten(-2)
        x = x + self.gamma_attn * self.proj(merged)
        return x + self.gamma_mlp * self.mlp(self.norm_mlp(x))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """(..., L, W) -> (..., h, L, d)."""
        return x.unflatten(-1, (self.heads, -1)).transpose(-3, -2)


class Predictor(nn.Module):
    """Next-frame predictor over frozen patch features (see module docstring).

    Args:
        feature_dim: D, encoder feature size.
        grid: (h, w) patch grid of the features; P = h * w.
        width, depth, heads: W, number of blocks, attention heads (W / heads even and >= 6).
        mlp_ratio: MLP hidden size / W.
        layer_scale: initial LayerScale value (1e-5 in the DINO-world design).
        rope_base, rope_time_scale, rope_spatial_scale: see `AxialRoPE`.
        action_dim: A, model-step action size; None for an action-free (pretraining) predictor.
        proprio_dim: Sp, proprioception size fed with the actions and predicted (0: none; needs
            ``action_dim``).
        action_every: an action block before every ``action_every``-th layer.
        residual: predict the change from the previous frame (``z_prev + head(x)``, in
            standardised units) instead of the frame itself. Off by default: on Wall a residual
            model had the better 1-step error but compounded faster over a 5-step rollout
            (0.0250 vs 0.0079 at step 5 after 3000 teacher-forced steps).
        feature_norm: how `set_feature_statistics` is meant to be fed (see ``FEATURE_NORMS``);
            recorded so that fine-tuning computes them like pretraining did.
    """

    def __init__(
        self,
        *,
        feature_dim: int,
        grid: tuple[int, int],
        width: int,
        depth: int,
        heads: int,
        mlp_ratio: float = 4.0,
        layer_scale: float = 1e-5,
        rope_base: float = 100.0,
        rope_time_scale: float = 10.0,
        rope_spatial_scale: float = 8.0,
        action_dim: int | None = None,
        proprio_dim: int = 0,
        action_every: int = 1,
        residual: bool = False,
        feature_norm: str = "patch",
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"predictor width {width} must be divisible by heads {heads}")
        if feature_norm not in FEATURE_NORMS:
            raise ValueError(f"predictor.feature_norm must be one of {FEATURE_NORMS}; got {feature_norm!r}")
        if proprio_dim and not action_dim:
            raise ValueError(f"proprio_dim={proprio_dim} needs an action-conditioned predictor (action_dim)")
        self.arch: dict[str, Any] = {
            "feature_dim": int(feature_dim), "grid": [int(grid[0]), int(grid[1])], "width": width, "depth": depth,
            "heads": heads, "mlp_ratio": mlp_ratio, "layer_scale": layer_scale, "rope_base": rope_base,
            "rope_time_scale": rope_time_scale, "rope_spatial_scale": rope_spatial_scale,
            "action_dim": action_dim, "proprio_dim": proprio_dim, "action_every": action_every,
            "residual": bool(residual), "feature_norm": feature_norm,
        }
        self.num_patches = int(grid[0]) * int(grid[1])
        self.register_buffer("feature_mean", torch.zeros(self.num_patches, feature_dim))
        self.register_buffer("feature_std", torch.ones(self.num_patches, feature_dim))
        self.rope = AxialRoPE(head_dim=width // heads, grid=(int(grid[0]), int(grid[1])), base=rope_base,
                              time_scale=rope_time_scale, spatial_scale=rope_spatial_scale)
        self.in_proj = nn.Linear(feature_dim, width)
        self.query = nn.Parameter(torch.zeros(width))
        self.blocks = nn.ModuleList(
            CrossAttentionBlock(width=width, heads=heads, mlp_ratio=mlp_ratio, layer_scale=layer_scale)
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, feature_dim)
        self.apply(_init_weights)
        nn.init.trunc_normal_(self.query, std=0.02)
        self.actions = (
            ActionConditioner(action_dim=action_dim, proprio_dim=proprio_dim, width=width, depth=depth,
                              every=action_every)
            if action_dim else None
        )

    @classmethod
    def from_config(
        cls, cfg: Mapping[str, Any], *, feature_dim: int, grid: tuple[int, int],
        action_dim: int | None = None, proprio_dim: int = 0,
    ) -> Predictor:
        """Build from a ``predictor`` config group plus runtime sizes (from the encoder and dataset)."""
        unknown = sorted(set(cfg) - set(ARCH_KEYS))
        if unknown:
            raise ValueError(f"unknown predictor config keys {unknown}; known: {list(ARCH_KEYS)}")
        return cls(feature_dim=feature_dim, grid=grid, action_dim=action_dim, proprio_dim=proprio_dim, **dict(cfg))

    def set_feature_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Set the standardisation of features: mean and std, each (P, D) (or broadcastable to it).

        Raises:
            ValueError: wrong shape, non-finite values or a std that is not positive.
        """
        shape = tuple(self.feature_mean.shape)
        mean, std = (torch.as_tensor(t, dtype=torch.float32).expand(shape) for t in (mean, std))
        if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
            raise ValueError("feature statistics must be finite with a positive std")
        with torch.no_grad():
            self.feature_mean.copy_(mean)
            self.feature_std.copy_(std)

    def standardize(self, z: torch.Tensor) -> torch.Tensor:
        """(..., P, D) raw features -> standardised features (the units the loss is taken in)."""
        return (z - self.feature_mean) / self.feature_std

    def destandardize(self, z: torch.Tensor) -> torch.Tensor:
        """(..., P, D) standardised features -> raw features."""
        return z * self.feature_std + self.feature_mean

    def frame_tokens(self, z: torch.Tensor) -> torch.Tensor:
        """(..., T, P, D) raw features -> (..., T * P, W) memory tokens."""
        return self.in_proj(self.standardize(z)).flatten(-3, -2)

    def action_embedding(self, actions: torch.Tensor | None, proprio: torch.Tensor | None) -> torch.Tensor | None:
        """(..., A) normalised actions (+ (..., Sp) proprio) -> (..., W), or None without action blocks.

        Raises:
            ValueError: actions given to an action-free predictor or missing for a conditioned one.
        """
        if self.actions is None:
            if actions is not None:
                raise ValueError("this predictor has no action blocks (built without action_dim); pass actions=None")
            return None
        if actions is None:
            raise ValueError(f"this predictor is action-conditioned (A={self.actions.action_dim}); pass actions")
        return self.actions.embed_inputs(actions, proprio)

    def condition(self, layer: int, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        """Add layer ``layer``'s action update: x (..., F, P, W), embedding (..., F, W) -> (..., F, P, W)."""
        if embedding is None:
            return x
        update = self.actions.update(layer, embedding)
        return x if update is None else x + update.unsqueeze(-2)

    def output(self, x: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """(..., P, W) refined queries and (..., P, D) raw previous frame -> (..., P, D) raw predicted features."""
        return self.destandardize(self.standardized_output(x, self.standardize(previous)))

    def predicted_frame_projection(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``in_proj`` after ``head`` as one (W, W) weight and (W,) bias, for non-residual predictors.

        A predicted frame becomes memory as ``in_proj(head(norm(x)))``: two linear maps through the
        feature size D, fused here into one, so a rollout step whose features nobody reads never
        computes them.
        """
        if self.arch["residual"]:
            raise ValueError("a residual predictor adds the previous frame before in_proj: no fused projection")
        weight = self.in_proj.weight @ self.head.weight  # (W, D) @ (D, W)
        return weight, self.in_proj.weight @ self.head.bias + self.in_proj.bias

    def standardized_output(self, x: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """(..., P, W) refined queries and (..., P, D) standardised previous frame -> standardised prediction."""
        out = self.head(self.norm(x))
        return out + previous if self.arch["residual"] else out

    def proprio_output(self, x: torch.Tensor) -> torch.Tensor:
        """(..., P, W) refined queries of a frame -> (..., Sp) its normalised proprioception.

        The final norm, averaged over the patches, through the action blocks' ``proprio_head``.

        Raises:
            ValueError: the predictor was built without proprioception.
        """
        if not self.arch["proprio_dim"]:
            raise ValueError("this predictor was built without proprioception (proprio_dim 0)")
        return self.actions.proprio_head(self.norm(x).mean(-2))

    def forward(
        self, z: torch.Tensor, times: torch.Tensor, actions: torch.Tensor | None = None,
        proprio: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict frames 1..T-1 of a clip, each from all earlier frames, in parallel.

        Args:
            z: (B, T, P, D) frozen features, T >= 2.
            times: (B, T) frame timestamps in seconds.
            actions: (B, T-1, A) normalised actions; ``actions[:, k]`` is taken at frame k and
                conditions the prediction of frame k+1. None for an action-free predictor.
            proprio: (B, T-1, Sp) normalised proprioception at frames 0..T-2, if built with it.

        Returns:
            (B, T-1, P, D) predictions of frames 1..T-1.
        """
        return self.output(self.refine(z, times, actions, proprio), z[:, :-1])

    def refine(
        self, z: torch.Tensor, times: torch.Tensor, actions: torch.Tensor | None = None,
        proprio: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The refined queries of frames 1..T-1, (B, T-1, P, W) (``forward`` without the head; same arguments)."""
        batch, frames = self._check(z, times)
        if frames < 2:
            raise ValueError(f"forward needs at least 2 frames (context and target); got T={frames}")
        cos_k, sin_k = self.rope.angles(times[:, :-1])
        cos_q, sin_q = self.rope.angles(times[:, 1:])
        memory = self.frame_tokens(z[:, :-1])
        frame_of = torch.arange(frames - 1, device=z.device).repeat_interleave(self.num_patches)
        mask = frame_of[:, None] >= frame_of[None, :]  # (M, L): query of frame k+1 sees frames <= k
        if actions is not None and tuple(actions.shape[:2]) != (batch, frames - 1):
            raise ValueError(f"actions must be (B, T-1, A) = ({batch}, {frames - 1}, A); got {tuple(actions.shape)}")
        embedding = self.action_embedding(actions, proprio)
        x = self.query.expand(batch, frames - 1, self.num_patches, -1)
        for layer, block in enumerate(self.blocks):
            x = self.condition(layer, x, embedding).flatten(1, 2)
            k, v = block.keys_values(memory, cos_k, sin_k)
            attended = F.scaled_dot_product_attention(block.queries(x, cos_q, sin_q), k, v, attn_mask=mask)
            x = block.update(x, attended).unflatten(1, (frames - 1, self.num_patches))
        return x

    def predict_at(
        self, z: torch.Tensor, times: torch.Tensor, target_time: torch.Tensor,
        action: torch.Tensor | None = None, proprio: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the frame at an arbitrary future time from all given frames.

        Args:
            z: (B, T, P, D) past features.
            times: (B, T) their timestamps in seconds.
            target_time: (B,) time of the frame to predict, in seconds.
            action: (B, A) normalised action taken at the last past frame (conditioned models).
            proprio: (B, Sp) normalised proprioception at the last past frame, if built with it.

        Returns:
            (B, P, D) predicted features.
        """
        return self.output(self.refine_at(z, times, target_time, action, proprio), z[:, -1])

    def refine_at(
        self, z: torch.Tensor, times: torch.Tensor, target_time: torch.Tensor,
        action: torch.Tensor | None = None, proprio: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The refined queries of the frame at ``target_time``, (B, P, W) (``predict_at`` without the head)."""
        batch, _ = self._check(z, times)
        cos_k, sin_k = self.rope.angles(times)
        cos_q, sin_q = self.rope.angles(target_time[:, None])
        memory = self.frame_tokens(z)
        embedding = self.action_embedding(action, proprio)
        x = self.query.expand(batch, 1, self.num_patches, -1)
        embedding = None if embedding is None else embedding[:, None]
        for layer, block in enumerate(self.blocks):
            x = self.condition(layer, x, embedding).flatten(1, 2)
            k, v = block.keys_values(memory, cos_k, sin_k)
            attended = F.scaled_dot_product_attention(block.queries(x, cos_q, sin_q), k, v)
            x = block.update(x, attended).unflatten(1, (1, self.num_patches))
        return x[:, 0]

    def _check(self, z: torch.Tensor, times: torch.Tensor) -> tuple[int, int]:
        """Validate z (B, T, P, D) and times (B, T); return (B, T)."""
        expected = (self.num_patches, self.arch["feature_dim"])
        if z.ndim != 4 or tuple(z.shape[2:]) != expected:
            raise ValueError(f"features must be (B, T, P, D) with (P, D) = {expected}; got {tuple(z.shape)}")
        if tuple(times.shape) != tuple(z.shape[:2]):
            raise ValueError(f"times must be (B, T) = {tuple(z.shape[:2])}; got {tuple(times.shape)}")
        return z.shape[0], z.shape[1]


def smooth_l1(prediction: torch.Tensor, target: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """Mean smooth-L1 (Huber) loss between predicted and target features (any equal shapes)."""
    return F.smooth_l1_loss(prediction.float(), target.float(), beta=beta)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)
