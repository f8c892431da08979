"""The world model: frozen encoder + predictor + action normalisation + the data window.

Axis legend: B episodes, N candidates, T context frames, H horizon (model steps), P patches,
D feature size, A action size of one model step (frameskip x env action size), Sp proprioception
size, S image side in pixels.

Actions and proprioception enter in env units and are normalised here with dataset statistics kept
as buffers (they travel with checkpoints); predicted proprioception leaves in env units. One model
step covers ``frameskip`` env steps, ``dt = frameskip / fps`` seconds; frame k of a window sits at
time ``k * dt``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from worldplan.models.encoder import FrozenEncoder, check_frames
from worldplan.models.predictor import Predictor
from worldplan.models.rollout import rollout_naive, rollout_shared


@dataclass(frozen=True)
class DataWindow:
    """What a training window holds and how model steps map to env steps and seconds.

    Attributes:
        context: frames of context the model is given when planning (T).
        horizon: model steps predicted after the context in a training window (H).
        frameskip: env steps per model step.
        fps: env control rate in frames per second.
    """

    context: int = 3
    horizon: int = 5
    frameskip: int = 5
    fps: float = 10.0

    def __post_init__(self) -> None:
        if self.context < 1 or self.horizon < 1 or self.frameskip < 1 or self.fps <= 0:
            raise ValueError(f"data window needs context, horizon, frameskip >= 1 and fps > 0; got {self}")

    @property
    def dt(self) -> float:
        """Seconds per model step."""
        return self.frameskip / self.fps

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        return asdict(self)


class WorldModel(nn.Module):
    """Encoder (optional) + `Predictor` + action normalisation + data window.

    Args:
        predictor: the (action-conditioned or action-free) predictor.
        window: context, horizon, frameskip and fps.
        encoder: the frozen encoder; None when working from cached features.
        action_stats: (mean, std) of env actions, each (A_env,) (tiled ``frameskip`` times) or (A,).
        proprio_stats: (mean, std) of proprioception, each (Sp,), when the predictor takes it.
        frame_size: S of the frames the model was trained on (``encode`` rejects others); None: any.
    """

    def __init__(
        self,
        *,
        predictor: Predictor,
        window: DataWindow,
        encoder: FrozenEncoder | None = None,
        action_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        proprio_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        frame_size: int | None = None,
    ) -> None:
        super().__init__()
        self.predictor, self.encoder, self.window, self.frame_size = predictor, encoder, window, frame_size
        self.memory_budget_mb: float | None = None  # rollouts split the candidates to stay under it (None: never)
        if encoder is not None and (encoder.dim, encoder.num_patches) != (
            predictor.arch["feature_dim"], predictor.num_patches
        ):
            raise ValueError(f"encoder gives P={encoder.num_patches}, D={encoder.dim} but the predictor expects "
                             f"P={predictor.num_patches}, D={predictor.arch['feature_dim']}")
        action_dim = predictor.arch["action_dim"] or 0
        self._register_stats("action", action_stats, action_dim, tile=window.frameskip)
        self._register_stats("proprio", proprio_stats, predictor.arch["proprio_dim"], tile=1)

    def _register_stats(self, name: str, stats: tuple | None, size: int, *, tile: int) -> None:
        if not size:
            if stats is not None:
                raise ValueError(f"{name}_stats given but the predictor takes no {name} input")
            return
        mean, std = (torch.zeros(size), torch.ones(size)) if stats is None else (
            torch.as_tensor(s, dtype=torch.float32).flatten() for s in stats)
        if mean.numel() * tile == size:
            mean, std = mean.repeat(tile), std.repeat(tile)
        if mean.numel() != size or std.numel() != size:
            raise ValueError(f"{name} statistics have size {mean.numel()}; expected {size} or {size // tile}")
        self.register_buffer(f"{name}_mean", mean)
        self.register_buffer(f"{name}_std", std.clamp_min(1e-6))

    @property
    def action_dim(self) -> int | None:
        """A, the model-step action size, or None for an action-free model."""
        return self.predictor.arch["action_dim"]

    @property
    def proprio_dim(self) -> int:
        """Sp, the proprioception size the model takes and predicts; 0 for none."""
        return self.predictor.arch["proprio_dim"]

    def normalize_proprio(self, proprio: torch.Tensor) -> torch.Tensor:
        """(..., Sp) env-unit proprioception -> normalised with the training data's statistics."""
        return (proprio - self.proprio_mean) / self.proprio_std

    def denormalize_proprio(self, proprio: torch.Tensor) -> torch.Tensor:
        """(..., Sp) normalised proprioception -> env units."""
        return proprio * self.proprio_std + self.proprio_mean

    def normalize(
        self, actions: torch.Tensor | None, proprio: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Env-unit (..., A) actions and (..., Sp) proprio -> normalised, after checking sizes and values."""
        if actions is not None:
            _check_finite("actions", actions)
            if self.action_dim is None:
                raise ValueError("this world model is action-free (no action blocks); pass actions=None")
            if actions.shape[-1] != self.action_dim:
                raise ValueError(f"actions have size {actions.shape[-1]} per model step; this model expects "
                                 f"{self.action_dim} (frameskip {self.window.frameskip} x env action size)")
            actions = (actions - self.action_mean) / self.action_std
        if proprio is not None:
            _check_finite("proprio", proprio)
            if proprio.shape[-1] != self.proprio_dim:
                raise ValueError(f"proprio has size {proprio.shape[-1]}; expected {self.proprio_dim}")
            proprio = self.normalize_proprio(proprio)
        return actions, proprio

    def frame_times(self, batch: int, frames: int, start: int = 0) -> torch.Tensor:
        """(batch, frames) timestamps ``(start + k) * dt`` in seconds."""
        device = self.predictor.query.device
        steps = torch.arange(start, start + frames, device=device, dtype=torch.float32)
        return (steps * self.window.dt).expand(batch, frames)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, S, S, 3) uint8 frames -> (B, T, P, D) features.

        Raises:
            ValueError: no encoder, wrong layout, or S differs from ``frame_size``.
        """
        if self.encoder is None:
            raise ValueError("this world model has no encoder (built for cached features); load it with the encoder")
        check_frames(frames)
        if frames.ndim != 5:
            raise ValueError(f"frames must be (B, T, S, S, 3); got shape {tuple(frames.shape)}")
        if self.frame_size is not None and frames.shape[-2] != self.frame_size:
            raise ValueError(f"frames are {frames.shape[-2]} px but the model was trained on {self.frame_size} px "
                             "frames: render the env at that image_size")
        return self.encoder(frames)

    def forward(
        self, z: torch.Tensor, actions: torch.Tensor | None = None, proprio: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Teacher-forced predictions of frames 1..T-1 (the training objective's input).

        Args:
            z: (B, T, P, D) features of consecutive model steps.
            actions: (B, T-1, A) env-unit actions, ``actions[:, k]`` taken at frame k; None if action-free.
            proprio: (B, T-1, Sp) raw proprioception at frames 0..T-2, if the predictor takes it.

        Returns:
            (B, T-1, P, D) predictions.
        """
        return self.forward_with_proprio(z, actions, proprio)[0]

    def forward_with_proprio(
        self, z: torch.Tensor, actions: torch.Tensor | None = None, proprio: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward``, plus the (B, T-1, Sp) env-unit proprioception predicted for frames 1..T-1 (None
        for a model without proprioception)."""
        _check_finite("features", z)
        actions, proprio = self.normalize(actions, proprio)
        x = self.predictor.refine(z, self.frame_times(z.shape[0], z.shape[1]), actions, proprio)
        predicted = self.denormalize_proprio(self.predictor.proprio_output(x)) if self.proprio_dim else None
        return self.predictor.output(x, z[:, :-1]), predicted

    def _prepare(
        self, z: torch.Tensor, actions: torch.Tensor | None, proprio: torch.Tensor | None, horizon: int | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor, torch.Tensor, int]:
        """Check rollout inputs; return normalised actions, proprio, context (B, T) and target (B, H) times, N."""
        _check_finite("z_context", z)
        if z.ndim != 4:
            raise ValueError(f"z_context must be (B, T, P, D); got shape {tuple(z.shape)}")
        if actions is not None:
            if actions.ndim != 4 or actions.shape[0] != z.shape[0]:
                raise ValueError(f"actions must be (B, N, H, A) with B={z.shape[0]}; got {tuple(actions.shape)}")
            horizon = actions.shape[2]
        elif horizon is None:
            raise ValueError("an action-free rollout needs horizon=H")
        if self.proprio_dim and (proprio is None or tuple(proprio.shape) != (z.shape[0], self.proprio_dim)):
            got = None if proprio is None else tuple(proprio.shape)
            raise ValueError(f"this model takes proprioception: pass proprio=(B, Sp) = ({z.shape[0]}, "
                             f"{self.proprio_dim}), that of the last context frame; got {got}")
        if proprio is not None and not self.proprio_dim:
            raise ValueError("this model takes no proprioception; pass proprio=None")
        actions, proprio = self.normalize(actions, proprio)
        times = self.frame_times(z.shape[0], z.shape[1])
        targets = self.frame_times(z.shape[0], horizon, start=z.shape[1])
        return actions, proprio, times, targets, 1 if actions is None else actions.shape[1]

    def rollout(
        self, z_context: torch.Tensor, actions: torch.Tensor | None, *, proprio: torch.Tensor | None = None,
        horizon: int | None = None, last_only: bool = False,
    ) -> torch.Tensor:
        """Predict H future latents for each of N candidate action sequences.

        Context keys/values are computed once per episode and shared by the N candidates.

        Args:
            z_context: (B, T, P, D) features of the last T observed frames.
            actions: (B, N, H, A) env-unit model-step actions; None for an action-free model.
            proprio: (B, Sp) env-unit proprioception at the last context frame, required iff the model
                takes it (later steps get the model's own predictions).
            horizon: H, only for an action-free rollout (then N = 1).
            last_only: return only step H (all steps are still predicted; none other is kept).

        Returns:
            (B, N, H', P, D) float32 predicted features; H' = 1 with ``last_only``, else H.
        """
        return self.rollout_with_proprio(z_context, actions, proprio=proprio, horizon=horizon, last_only=last_only)[0]

    def rollout_with_proprio(
        self, z_context: torch.Tensor, actions: torch.Tensor | None, *, proprio: torch.Tensor | None = None,
        horizon: int | None = None, last_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``rollout``, plus the (B, N, H', Sp) float32 env-unit proprioception predicted at each kept step
        (None for a model without proprioception)."""
        actions, proprio, times, targets, n = self._prepare(z_context, actions, proprio, horizon)
        chunk = self.candidates_per_call(z_context.shape[0], z_context.shape[1], targets.shape[1])
        chunks = [actions] if actions is None or chunk >= n else list(actions.split(chunk, dim=1))
        parts = [rollout_shared(self.predictor, z_context, times, targets, part, proprio,
                                n if part is None else part.shape[1], last_only=last_only) for part in chunks]
        return self._outputs([z for z, _ in parts], [p for _, p in parts])

    def _outputs(
        self, features: list[torch.Tensor], proprio: list[torch.Tensor | None]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Candidate chunks (B, N_i, H', P, D) and (B, N_i, H', Sp) normalised -> float32 tensors over all N."""
        z = torch.cat(features, 1).float()
        return z, None if proprio[0] is None else self.denormalize_proprio(torch.cat(proprio, 1).float())

    def candidates_per_call(self, batch: int, context: int, horizon: int) -> int:
        """N per `rollout_shared` call that keeps its activations under ``memory_budget_mb`` (at least 1).

        The estimate counts, per episode and candidate, the keys and values of its own predicted
        frames in every layer, one layer's attention weights and MLP activations, and the kept
        predictions, in fp32, doubled for temporaries. Without a budget: no limit.
        """
        if self.memory_budget_mb is None:
            return 2**62
        arch, p = self.predictor.arch, self.predictor.num_patches
        width, keys = arch["width"], (context + horizon) * p
        floats = (arch["depth"] * 2 * horizon * p * width + arch["heads"] * p * keys
                  + p * width * (arch["mlp_ratio"] + 6) + horizon * p * arch["feature_dim"])
        per_candidate = 2 * 4 * floats * batch
        return max(1, int(self.memory_budget_mb * 2**20 // per_candidate))

    def rollout_naive(
        self, z_context: torch.Tensor, actions: torch.Tensor | None, *, proprio: torch.Tensor | None = None,
        horizon: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Same as `rollout_with_proprio`, one candidate at a time with full recomputation (the reference)."""
        actions, proprio, times, targets, n = self._prepare(z_context, actions, proprio, horizon)
        z, predicted = rollout_naive(self.predictor, z_context, times, targets, actions, proprio, n)
        return self._outputs([z], [predicted])


def _check_finite(name: str, x: torch.Tensor) -> None:
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or inf values; check the data and the planner's samples")
