"""PointMaze: a MuJoCo point mass driven by 2-D forces through a U-shaped maze, seen from above.

The maze (D4RL's U-maze layout) is a 5 x 5 grid of 1-unit cells centred on the origin, x to the right
and y up; ``#`` cells are walls. The MJCF is built here in code, so no data files ship with it.
"""

from __future__ import annotations

from collections import deque

import mujoco
import numpy as np

from worldplan.envs.base import xy_distance
from worldplan.envs.mujoco_base import MujocoGoalEnv

U_MAZE = (
    "#####",
    "#OOO#",
    "###O#",
    "#OOO#",
    "#####",
)
BALL_RADIUS = 0.2
WALL_HEIGHT = 0.4
TIMESTEP = 0.01
N_SUBSTEPS = 5  # 20 control steps per second
START_MARGIN = 0.05  # keep sampled starts this far from the walls
VIEW_MARGIN = 0.2  # the camera shows this much of the outer walls around the free cells
WALKER_GAIN = 3.0  # goal policy: force per unit of distance to the next waypoint
WALKER_REACHED = 0.25  # goal policy: distance at which the target cell counts as reached


def cell_centre(row: int, col: int) -> tuple[float, float]:
    """The (x, y) centre of maze cell (row, col), in maze units."""
    return float(col - len(U_MAZE[0]) // 2), float(len(U_MAZE) // 2 - row)


def open_cells() -> list[tuple[int, int]]:
    """(row, col) of the free cells, row by row."""
    return [(r, c) for r, line in enumerate(U_MAZE) for c, ch in enumerate(line) if ch == "O"]


def cell_of(x: float, y: float) -> tuple[int, int]:
    """The (row, col) of the cell that contains the point (x, y)."""
    return int(round(len(U_MAZE) // 2 - y)), int(round(x + len(U_MAZE[0]) // 2))


def next_cell(start: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The first cell after ``start`` on a shortest free path to ``target`` (``target`` if next to it)."""
    parent: dict[tuple[int, int], tuple[int, int]] = {target: target}
    queue = deque([target])
    while queue:  # breadth-first from the target, so following parents from start walks towards it
        r, c = queue.popleft()
        for cell in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if cell not in parent and U_MAZE[cell[0]][cell[1]] == "O":
                parent[cell] = (r, c)
                queue.append(cell)
    return parent.get(start, target)


class MazeWalker:
    """Goal policy: steer through the corridors to a random free cell, then pick another one.

    A random force mostly pushes the ball into the nearest wall of the U-maze; following the maze's
    shortest paths makes ``offset``-step goals spread along the corridors instead.
    """

    def __init__(self) -> None:
        self._target: tuple[int, int] | None = None

    def reset(self) -> None:
        """Forget the target cell: the next call draws a new one."""
        self._target = None

    def __call__(self, rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
        """The force towards the next waypoint for ``state`` (x, y, vx, vy): (2,) float32 in [-1, 1]."""
        position = np.asarray(state[:2], dtype=np.float64)
        here = cell_of(*position)
        if self._target is None or np.linalg.norm(position - cell_centre(*self._target)) < WALKER_REACHED:
            choices = [cell for cell in open_cells() if cell != here]
            self._target = choices[int(rng.integers(len(choices)))]
        waypoint = np.array(cell_centre(*next_cell(here, self._target)))
        return np.clip(WALKER_GAIN * (waypoint - position), -1.0, 1.0).astype(np.float32)


def maze_xml() -> str:
    """The MJCF of the maze, the ball and a top-down orthographic camera that frames the whole grid."""
    walls = "\n".join(
        f'<geom type="box" pos="{x} {y} {WALL_HEIGHT / 2}" size="0.5 0.5 {WALL_HEIGHT / 2}" material="wall"/>'
        for r, line in enumerate(U_MAZE)
        for c, ch in enumerate(line)
        if ch == "#"
        for x, y in [cell_centre(r, c)]
    )
    extent = float(max(len(U_MAZE), len(U_MAZE[0])))
    view = extent - 2.0 + 2.0 * VIEW_MARGIN
    return f"""
<mujoco model="pointmaze">
  <option timestep="{TIMESTEP}"/>
  <visual>
    <quality shadowsize="0" offsamples="0"/>
    <headlight ambient="0.5 0.5 0.5" diffuse="0.5 0.5 0.5" specular="0 0 0"/>
  </visual>
  <asset>
    <material name="floor" rgba="0.92 0.92 0.88 1"/>
    <material name="wall" rgba="0.25 0.3 0.45 1"/>
    <material name="ball" rgba="0.9 0.15 0.1 1"/>
  </asset>
  <worldbody>
    <camera name="top" pos="0 0 3" projection="orthographic" fovy="{view}"/>
    <geom type="plane" size="{extent / 2} {extent / 2} 0.1" material="floor" contype="0" conaffinity="0"/>
    {walls}
    <body name="ball" pos="0 0 {BALL_RADIUS}">
      <joint name="x" type="slide" axis="1 0 0" damping="2"/>
      <joint name="y" type="slide" axis="0 1 0" damping="2"/>
      <geom type="sphere" size="{BALL_RADIUS}" mass="1" condim="1" material="ball"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="x" gear="8" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="y" gear="8" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>
"""


class PointMazeEnv(MujocoGoalEnv):
    """A point mass in a U-maze (MuJoCo), pixels from a top-down orthographic camera.

    - State: (x, y, vx, vy) float32; position in maze units (1 unit = one cell, origin at the maze
      centre, x right, y up), velocity in units per second.
    - Action: (2,) float32 force in [-1, 1]^2 (times 8 N on a 1 kg ball with damping 2 N s/unit:
      top speed 4 units/s); one step is 5 physics steps of 0.01 s (20 steps per second).
    - Starts: uniform in a random free cell, at rest.
    - Success: Euclidean distance between the (x, y) positions < 0.5 units (DINO-WM's threshold);
      velocities are ignored.
    - Goal policy: ``MazeWalker``, shortest corridor paths to random free cells.
    - Pixels: the free cells and 0.2 units of the outer walls, from straight above.
    - Proprioception: the whole state (x, y, vx, vy), the ball's qpos and qvel.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    success_threshold = 0.5
    proprio_indices = (0, 1, 2, 3)

    def __init__(self, image_size: int = 64, render_mode: str | None = "rgb_array") -> None:
        model = mujoco.MjModel.from_xml_string(maze_xml())
        data = mujoco.MjData(model)
        super().__init__(
            model=model,
            data=data,
            camera="top",
            n_substeps=N_SUBSTEPS,
            goal_policy=MazeWalker(),
            image_size=image_size,
            render_mode=render_mode,
        )
        x, y = cell_centre(*open_cells()[0])
        self.set_state(np.array([x, y, 0.0, 0.0], dtype=np.float32))

    def sample_start_state(self) -> np.ndarray:
        """(x, y, 0, 0): uniform in a free cell chosen uniformly, away from its walls."""
        cells = open_cells()
        x, y = cell_centre(*cells[int(self.np_random.integers(len(cells)))])
        half = 0.5 - BALL_RADIUS - START_MARGIN
        dx, dy = self.np_random.uniform(-half, half, size=2)
        return np.array([x + dx, y + dy, 0.0, 0.0], dtype=np.float32)

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        """Euclidean distance between the ball positions (x, y), in maze units."""
        return xy_distance(state, goal_state)
