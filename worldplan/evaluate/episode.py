"""What one evaluation episode records, and the running trace the MPC loop fills in.

Axis legend: S image side in pixels, L executed env steps of an episode, K plans, P patches, D feature size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def finite_or_none(value: float) -> float | None:
    """``value``, or None when it is NaN or infinite (e.g. the distance to an unknown goal state)."""
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class EpisodeResult:
    """The outcome of one episode of the MPC loop.

    Attributes:
        index: the episode's position in the evaluation (0-based).
        seed: the seed its goal task was sampled with.
        success: the env reported success from the true state within the step budget.
        steps: env steps executed (L).
        final_state_distance: ``env.state_distance`` of the last state to the goal state (NaN when the
            goal state is unknown, e.g. a goal given as an image).
        final_latent_distance: latent distance (the cost's metric) of the last frame to the goal image.
        plan_seconds: wall time of each plan that covered this episode (context encoding plus the
            batched ``planner.plan`` call shared by the episodes still running).
        cost_traces: per plan, the planner's best cost after each iteration.
        evaluations: candidate sequences scored for this episode over all its plans.
        frames: (L + 1, S, S, 3) uint8 observations, the start frame first; None when the loop was
            told not to keep them (episodes that get no video).
        goal_image: (S, S, 3) uint8.
        imagined: (K, P, D) float32, each plan's predicted latents of its last step, kept only for the video
            episodes of a loop told to ``imagine`` (else None); see ``worldplan.evaluate.imagined``.
        imagined_steps: (K,) the env step at which each of those plans was made.
    """

    index: int
    seed: int
    success: bool
    steps: int
    final_state_distance: float
    final_latent_distance: float
    plan_seconds: list[float]
    cost_traces: list[list[float]]
    evaluations: int
    frames: np.ndarray | None
    goal_image: np.ndarray
    imagined: np.ndarray | None = None
    imagined_steps: tuple[int, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict of everything but the images."""
        return {
            "index": self.index,
            "seed": self.seed,
            "success": self.success,
            "steps": self.steps,
            "final_state_distance": finite_or_none(self.final_state_distance),
            "final_latent_distance": self.final_latent_distance,
            "plans": len(self.plan_seconds),
            "plan_seconds": self.plan_seconds,
            "evaluations": self.evaluations,
            "cost_traces": self.cost_traces,
        }


@dataclass
class EpisodeTrace:
    """Mutable record of an episode while it runs.

    Attributes:
        goal_state: (state_dim,) float32.
        frames: observations so far, each (S, S, 3) uint8; only the latest when ``keep_frames`` is False.
        stride_frames: the observations at model-step boundaries (every ``frameskip`` env steps).
        state: (state_dim,) float32, the latest true state.
        keep_frames: keep every observation (for a video), not just the latest.
        imagined: per plan, (P, D) its predicted latents of its last step (video episodes, when imagining).
        imagined_steps: per plan, the env step it was made at.
    """

    goal_state: np.ndarray
    frames: list[np.ndarray]
    stride_frames: list[np.ndarray]
    state: np.ndarray
    keep_frames: bool = True
    steps: int = 0
    success: bool = False
    done: bool = False
    evaluations: int = 0
    plan_seconds: list[float] = field(default_factory=list)
    cost_traces: list[list[float]] = field(default_factory=list)
    imagined: list[np.ndarray] = field(default_factory=list)
    imagined_steps: list[int] = field(default_factory=list)

    def record_step(self, frame: np.ndarray, state: np.ndarray, *, success: bool, stop: bool) -> None:
        """Append one executed env step; the episode ends on success or ``stop`` (budget, termination)."""
        if self.keep_frames:
            self.frames.append(frame)
        else:
            self.frames[-1] = frame
        self.state = state
        self.steps += 1
        self.success = success
        self.done = success or stop

    def context(self, context_frames: int) -> np.ndarray:
        """(T, S, S, 3) the last ``min(context_frames, available)`` frames at model-step stride."""
        return np.stack(self.stride_frames[-context_frames:])
