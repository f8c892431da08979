"""Wall: DINO-WM's two-room navigation task, a 2-D dot, simulated and rendered with numpy.

Geometry, in grid units of a 64 x 64 arena (one unit is one pixel at ``image_size=64``; y grows
downward like image rows):

- border walls are 1 unit thick at [4, 5] and [59, 60], so the floor is [5, 59]^2;
- the dividing wall covers x in [30, 34] except the door, y in [27, 37];
- the dot has a collision radius of 1.5, so its centre lives in [6.5, 57.5]^2 and crosses the wall
  slab x in (28.5, 35.5) only through the door corridor y in [28.5, 35.5]; it is drawn as a Gaussian
  blob of standard deviation 1.7 (DINO-WM's ``dot_std``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from worldplan.envs.base import GoalEnv, finite_array, validate_image_size, validate_render_mode, xy_distance
from worldplan.envs.goal_policies import HeldRandomAction

ARENA = 64.0
DOT_RADIUS = 1.5
DOT_STD = 1.7
STEP_SCALE = 2.0  # units moved per unit of action per step (DINO-WM: next = pos + 2 * action)
FLOOR = (5.0 + DOT_RADIUS, 59.0 - DOT_RADIUS)  # range of the dot centre on both axes
SLAB = (30.0 - DOT_RADIUS, 34.0 + DOT_RADIUS)  # x range the centre enters only through the door
CORRIDOR = (27.0 + DOT_RADIUS, 37.0 - DOT_RADIUS)  # y range of the centre inside the slab
ROOMS = ((FLOOR[0], SLAB[0]), (SLAB[1], FLOOR[1]))  # x ranges of the left and right rooms
# Dark rectangles (x0, x1, y0, y1) in units: the four border walls, then the wall below and above the door.
WALL_RECTS = (
    (4.0, 60.0, 4.0, 5.0),
    (4.0, 60.0, 59.0, 60.0),
    (4.0, 5.0, 4.0, 60.0),
    (59.0, 60.0, 4.0, 60.0),
    (30.0, 34.0, 5.0, 27.0),
    (30.0, 34.0, 37.0, 59.0),
)


def _interval_coverage(edges: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fraction of each pixel (between consecutive ``edges``, (S+1,) units) covered by [lo, hi]: (S,)."""
    overlap = np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo)
    return np.clip(overlap, 0.0, None) / (edges[1] - edges[0])


def _gaussian_coverage(edges: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Mean of ``exp(-(t - mean)^2 / (2 std^2))`` over each pixel: (S,) in [0, 1], exact at any size."""
    scale = std * math.sqrt(2.0)
    cdf = np.array([math.erf((edge - mean) / scale) for edge in edges])
    return np.diff(cdf) * (scale * math.sqrt(math.pi) / 2.0) / (edges[1] - edges[0])


def render_background(image_size: int) -> np.ndarray:
    """The empty arena (white floor, black walls, area anti-aliased): (S, S, 3) float32 in [0, 255]."""
    edges = np.linspace(0.0, ARENA, image_size + 1)
    dark = np.zeros((image_size, image_size))
    for x0, x1, y0, y1 in WALL_RECTS:
        cover = np.outer(_interval_coverage(edges, y0, y1), _interval_coverage(edges, x0, x1))
        dark = np.maximum(dark, cover)
    gray = (255.0 * (1.0 - dark)).astype(np.float32)
    return np.repeat(gray[:, :, None], 3, axis=2)


def move_dot(position: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Move the dot by ``delta`` ((2,) units): x first, then y, stopping at walls.

    Moving the axes one after the other makes corner cutting impossible: the centre enters the wall
    slab only while its y lies in the door corridor, and inside the slab y stays in the corridor.

    Returns:
        (2,) float32, the new centre.
    """
    x, y = float(position[0]), float(position[1])
    new_x = x + float(delta[0])
    if not CORRIDOR[0] <= y <= CORRIDOR[1]:
        new_x = min(new_x, SLAB[0]) if x <= SLAB[0] else max(new_x, SLAB[1])
    new_x = min(max(new_x, FLOOR[0]), FLOOR[1])
    new_y = min(max(y + float(delta[1]), FLOOR[0]), FLOOR[1])
    if SLAB[0] < new_x < SLAB[1]:
        new_y = min(max(new_y, CORRIDOR[0]), CORRIDOR[1])
    return np.array([new_x, new_y], dtype=np.float32)


class WallEnv(GoalEnv):
    """A dot in two rooms joined by a door (DINO-WM's Wall), rendered with numpy.

    - State: (x, y) float32, the dot centre in grid units of the 64-unit arena (see the module
      docstring for the geometry); starts are uniform in a room chosen at random (both rooms).
    - Action: (2,) float32 velocity in [-1, 1]^2; one step moves the dot by ``2 * action`` units,
      stopped by walls (the dot crosses the dividing wall only through the door).
    - Success: Euclidean distance between dot centres < 4.5 units (DINO-WM's threshold on its grid).
    - Goal policy: a random velocity held for 8 to 16 steps; 25-step goals lie a median 15 units
      from the start (5 % within the success threshold, seeds 0-299).
    - Control rate: 10 steps per second (``metadata["render_fps"]``).
    - Proprioception: the whole state (x, y), the dot's position.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    success_threshold = 4.5
    proprio_indices = (0, 1)

    def __init__(self, image_size: int = 64, render_mode: str | None = "rgb_array") -> None:
        self.image_size = validate_image_size(image_size)
        self.render_mode = validate_render_mode(render_mode)
        self.observation_space = spaces.Box(0, 255, (self.image_size, self.image_size, 3), np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._background = render_background(self.image_size)
        self._edges = np.linspace(0.0, ARENA, self.image_size + 1)
        self._position = np.array([ARENA / 2, ARENA / 2], dtype=np.float32)
        space = self.action_space
        self._walk = HeldRandomAction(low=space.low, high=space.high, min_hold=8, max_hold=16)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start the dot at a uniform position in a random room. Returns (observation, info)."""
        super().reset(seed=seed)
        x_lo, x_hi = ROOMS[int(self.np_random.integers(2))]
        x = self.np_random.uniform(x_lo, x_hi)
        y = self.np_random.uniform(*FLOOR)
        self._position = np.array([x, y], dtype=np.float32)
        self._walk.reset()
        return self.render(), {"state": self.get_state()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move by ``2 * action`` units (clipped to [-1, 1]^2); never terminates or truncates."""
        state = self.advance(action)
        return self.render(), self.task_reward(state), False, False, {"state": state}

    def advance(self, action: np.ndarray) -> np.ndarray:
        """``step`` without rendering: move the dot, return the new state."""
        self._position = move_dot(self._position, STEP_SCALE * self.check_action(action))
        return self.get_state()

    def get_state(self) -> np.ndarray:
        """(x, y) float32 in grid units."""
        return self._position.copy()

    def set_state(self, state: np.ndarray) -> None:
        """Place the dot at ``state`` ((2,) units), which must be a reachable centre position."""
        position = finite_array(state, (2,), "Wall state (x, y)")
        if not np.array_equal(move_dot(position, np.zeros(2)), position):
            raise ValueError(f"Wall state {position.tolist()} is outside the floor or inside a wall")
        self._position = position.copy()

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        """Euclidean distance between the two dot centres, in grid units."""
        return xy_distance(state, goal_state)

    def goal_policy_action(self, rng: np.random.Generator) -> np.ndarray:
        """A random velocity held for 8 to 16 steps (a random walk with momentum)."""
        return self._walk(rng, self._position)

    def render(self) -> np.ndarray:
        """The arena with the dot as a red Gaussian blob: (S, S, 3) uint8."""
        x, y = float(self._position[0]), float(self._position[1])
        rows, cols = _gaussian_coverage(self._edges, y, DOT_STD), _gaussian_coverage(self._edges, x, DOT_STD)
        blob = np.outer(rows, cols)
        image = self._background.copy()
        image[:, :, 1:] *= (1.0 - blob)[:, :, None].astype(np.float32)
        return (image + 0.5).astype(np.uint8)
