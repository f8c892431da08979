"""PushT: push a T-shaped block with a round pusher, wrapping ``gym_pusht`` (pymunk physics, pygame drawing).

The wrapper keeps gym_pusht's physics, PD-controlled pusher and drawing, and changes four things:
actions are displacements of the pusher's target relative to the pusher ([-1, 1]^2, so planners get
symmetric bounds), the state includes the pusher velocity (which the PD controller carries from step
to step), the simulator is rebuilt from the float32 state at every step so that
``set_state(get_state())`` reproduces later frames bit for bit (pymunk caches contact impulses between
steps), and frames are drawn at 512 px and area-averaged down to ``image_size``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium import spaces

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # gym_pusht imports pygame, which greets on import

import pygame  # noqa: E402
from gym_pusht.envs.pusht import PushTEnv as _GymPushT  # noqa: E402

from worldplan.envs.base import GoalEnv, finite_array, validate_image_size, validate_render_mode  # noqa: E402

WORLD = 512.0  # gym_pusht's arena side, pixels of its 512-px canvas
ACTION_SCALE = 40.0  # pusher target offset (px) per unit of action
POSITION_TOLERANCE = 20.0  # DINO-WM success: block position error < 20 px ...
ANGLE_TOLERANCE = np.pi / 9  # ... and block angle error < pi/9
START_CLEARANCE = 100.0  # a start's pusher is this far from the block's centre of gravity (no overlap)
PUSH_SPEED = 0.75  # goal policy: fraction of the largest action used while pushing
WALL_MARGIN = 150.0  # goal policy: closer than this to a wall, the block is pushed back inwards
TARGET_MARGIN = 20.0  # the PD target stays this far inside the arena (the pusher radius is 15 px)
ORBIT_RADIUS = 110.0  # goal policy: the pusher circles the block at this distance to reach the contact point


def angle_difference(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Absolute difference of two angles in radians, wrapped to [0, pi]."""
    return np.abs((np.asarray(a) - np.asarray(b) + np.pi) % (2 * np.pi) - np.pi)


def block_centre(state: np.ndarray, centre_of_gravity: np.ndarray) -> np.ndarray:
    """World position (2,) of the block's centre of gravity (``centre_of_gravity`` in block coordinates)."""
    angle = float(state[4])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.asarray(state[2:4], dtype=np.float64) + rotation @ centre_of_gravity


class NoisyPusher:
    """Goal policy: push the block in a random direction for a while, then pick another direction.

    For each direction (held 10 to 20 steps) the pusher first heads for a contact point 100 px behind
    the block's centre of gravity (circling the block when it is in the way), then pushes through it
    at three quarters of full speed; near a wall it only pushes inwards. Gaussian noise (std 0.2) is
    added to every action. Random actions almost never touch the block: this policy makes goals differ.
    """

    def __init__(self, centre_of_gravity: np.ndarray) -> None:
        self.centre_of_gravity = centre_of_gravity
        self._direction = np.zeros(2)
        self._steps_left = 0
        self._pushing = False

    def reset(self) -> None:
        """Forget the push direction: the next call draws a new one."""
        self._steps_left = 0

    def _towards_wall(self, centre: np.ndarray) -> bool:
        """Whether the block is near a wall and the push direction points away from the arena centre."""
        near_wall = not np.all((centre > WALL_MARGIN) & (centre < WORLD - WALL_MARGIN))
        return near_wall and float(np.dot(self._direction, WORLD / 2 - centre)) < 0.0

    @staticmethod
    def _waypoint(agent: np.ndarray, centre: np.ndarray, contact: np.ndarray) -> np.ndarray:
        """Where to head for ``contact`` without ploughing through the block (around it, if in the way)."""
        here, there = agent - centre, contact - centre
        turn = np.arctan2(here[0] * there[1] - here[1] * there[0], np.dot(here, there))
        if abs(turn) < np.pi / 3:
            return contact
        angle = np.arctan2(here[1], here[0]) + np.sign(turn) * np.pi / 4
        return centre + ORBIT_RADIUS * np.array([np.cos(angle), np.sin(angle)])

    @staticmethod
    def _new_direction(rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
        """A uniform push direction; near a wall, within 45 degrees of the way to the arena centre.

        The pusher is kinematic: pushing the block into a wall would squeeze it through.
        """
        if np.all((centre > WALL_MARGIN) & (centre < WORLD - WALL_MARGIN)):
            angle = rng.uniform(-np.pi, np.pi)
        else:
            inward = WORLD / 2 - centre
            angle = np.arctan2(inward[1], inward[0]) + rng.uniform(-np.pi / 4, np.pi / 4)
        return np.array([np.cos(angle), np.sin(angle)])

    def __call__(self, rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
        """The next action, (2,) float32 in [-1, 1]^2, for a PushT ``state``."""
        centre = block_centre(state, self.centre_of_gravity)
        if self._steps_left == 0 or (self._pushing and self._towards_wall(centre)):
            self._direction = self._new_direction(rng, centre)
            self._steps_left = int(rng.integers(10, 21))
            self._pushing = False
        self._steps_left -= 1
        agent = np.asarray(state[:2], dtype=np.float64)
        contact = centre - 100.0 * self._direction
        self._pushing = self._pushing or np.linalg.norm(contact - agent) < 30.0
        if self._pushing:
            offset = PUSH_SPEED * ACTION_SCALE * self._direction
        else:
            offset = self._waypoint(agent, centre, contact) - agent
        action = offset / ACTION_SCALE + rng.normal(0.0, 0.2, size=2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class PushTEnv(GoalEnv):
    """Push-T (gym_pusht) with goal images of a T pose.

    - State: (agent x, agent y, block x, block y, block angle, agent vx, agent vy) float32; positions
      in gym_pusht's 512-px units (y down), the block position is its body origin (the middle of the
      T's top edge), angle in radians wrapped to [0, 2 pi), velocities in px/s.
    - Action: (2,) float32 in [-1, 1]^2: the PD controller's target is the pusher position plus
      ``40 * action`` px (kept 20 px inside the arena); as in gym_pusht the pusher is kinematic,
      so it can force the block into a wall; one step is 0.1 s (10 steps per second).
    - Starts: block uniform in [100, 400]^2 with a uniform angle (as gym_pusht), pusher at rest
      100 to 160 px from the block's centre of gravity.
    - Success (DINO-WM): block position error < 20 px and block angle error < pi/9.
      ``state_distance`` is ``max(position error / 20, angle error / (pi/9))``, so
      ``success_threshold`` is 1.0; the pusher does not count.
    - Goal policy: ``NoisyPusher``.
    - Proprioception: the pusher's position and velocity (agent x, y, vx, vy: state entries 0, 1, 5, 6).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    success_threshold = 1.0
    proprio_indices = (0, 1, 5, 6)

    def __init__(self, image_size: int = 64, render_mode: str | None = "rgb_array") -> None:
        self.image_size = validate_image_size(image_size)
        self.render_mode = validate_render_mode(render_mode)
        self.observation_space = spaces.Box(0, 255, (self.image_size, self.image_size, 3), np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._sim = _GymPushT(obs_type="state", render_mode="rgb_array")
        self._sim._setup()
        self._physics_substeps = int(1 / (self._sim.dt * self._sim.control_hz))  # as gym_pusht's step
        self._centre_of_gravity = np.array(self._sim.block.center_of_gravity, dtype=np.float64)
        self._pusher = NoisyPusher(self._centre_of_gravity)
        self._state = np.zeros(7, dtype=np.float32)
        self.set_state(np.array([256.0, 400.0, 256.0, 300.0, 0.0, 0.0, 0.0], dtype=np.float32))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Random block pose, pusher at rest near the block. Returns (observation, info)."""
        super().reset(seed=seed)
        rng = self.np_random
        state = np.zeros(7, dtype=np.float32)
        state[2:4] = rng.uniform(100.0, 400.0, size=2)
        state[4] = rng.uniform(0.0, 2 * np.pi)
        centre = block_centre(state, self._centre_of_gravity)
        while True:  # rejection: keep the pusher inside the arena
            angle, radius = rng.uniform(-np.pi, np.pi), rng.uniform(START_CLEARANCE, 1.6 * START_CLEARANCE)
            agent = centre + radius * np.array([np.cos(angle), np.sin(angle)])
            if np.all((agent >= TARGET_MARGIN) & (agent <= WORLD - TARGET_MARGIN)):
                break
        state[:2] = agent
        self.set_state(state)
        self._pusher.reset()
        return self.render(), {"state": self.get_state()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move the PD target to the pusher position + ``40 * action`` px and simulate 0.1 s."""
        state = self.advance(action)
        return self.render(), self.task_reward(state), False, False, {"state": self.get_state()}

    def advance(self, action: np.ndarray) -> np.ndarray:
        """``step`` without rendering: simulate, round the state to float32, return it."""
        offset = ACTION_SCALE * self.check_action(action)
        target = np.clip(self._state[:2].astype(np.float64) + offset, TARGET_MARGIN, WORLD - TARGET_MARGIN)
        sim = self._sim
        self._simulate(target)
        angle = sim.block.angle % (2 * np.pi)
        values = [*sim.agent.position, *sim.block.position, angle, *sim.agent.velocity]
        self.set_state(np.array(values, dtype=np.float32))
        return self.get_state()

    def _simulate(self, target: np.ndarray) -> None:
        """gym_pusht's ``step`` towards the PD ``target`` (2,) px, without what it computes for its callers and
        nothing here reads: the goal coverage (two polygons intersected with shapely), the observation and the
        info (``advance`` is 2.0x faster without them: 3840 vs 1950 steps/s on an idle 2-core AVX2 machine).
        The physics is the same, bit for bit: ``_physics_substeps`` PD updates of the pusher's velocity, each
        followed by one pymunk step."""
        sim = self._sim
        for _ in range(self._physics_substeps):
            position, velocity = np.asarray(sim.agent.position), np.asarray(sim.agent.velocity)
            acceleration = sim.k_p * (target - position) + sim.k_v * (0.0 - velocity)
            sim.agent.velocity = tuple((velocity + acceleration * sim.dt).tolist())
            sim.space.step(sim.dt)

    def get_state(self) -> np.ndarray:
        """(7,) float32: agent x, y, block x, y, block angle, agent vx, vy."""
        return self._state.copy()

    def set_state(self, state: np.ndarray) -> None:
        """Rebuild the pymunk space at ``state`` ((7,) float32), contact caches cleared."""
        array = finite_array(state, (7,), "PushT state")
        self._state = array.copy()
        values = array.astype(np.float64).tolist()
        sim = self._sim
        sim._setup()
        sim.agent.position = (values[0], values[1])
        sim.agent.velocity = (values[5], values[6])
        sim.block.angle = values[4]  # the angle first: setting it turns the block about its centre of gravity
        sim.block.position = (values[2], values[3])
        for body in (sim.agent, sim.block):
            sim.space.reindex_shapes_for_body(body)

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        """``max(block position error / 20 px, block angle error / (pi/9))``: below 1 is success."""
        state, goal_state = np.asarray(state, np.float64), np.asarray(goal_state, np.float64)
        position_error = np.linalg.norm(state[2:4] - goal_state[2:4])
        angle_error = float(angle_difference(state[4], goal_state[4]))
        return float(max(position_error / POSITION_TOLERANCE, angle_error / ANGLE_TOLERANCE))

    def goal_policy_action(self, rng: np.random.Generator) -> np.ndarray:
        """One action of the noisy goal-directed pusher (``NoisyPusher``)."""
        return self._pusher(rng, self._state)

    def render(self) -> np.ndarray:
        """gym_pusht's 512-px drawing area-averaged to (S, S, 3) uint8."""
        canvas = self._sim._draw()
        small = pygame.transform.smoothscale(canvas, (self.image_size, self.image_size))
        return pygame.surfarray.array3d(small).transpose(1, 0, 2).copy()

    def close(self) -> None:
        """Close gym_pusht's env (its pygame window, if it ever opened one)."""
        self._sim.close()
