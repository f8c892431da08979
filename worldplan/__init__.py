"""worldplan: model-based planning with a pretrained latent video world model.

Axis legend used throughout the code base:
    B episodes, N candidates, T context frames, H horizon (model steps),
    P patches (tokens per frame), D feature size, A action size of one model step.
"""

import os

# MuJoCo must pick its GL backend before it is first imported; respect a value the user set.
os.environ.setdefault("MUJOCO_GL", "egl")
# OpenMP threads sleep when idle instead of spin-waiting, so a second busy process on the same cores
# slows worldplan in proportion instead of collapsing it (benchmarks/results/threads.md). Read when
# torch first loads OpenMP: import worldplan before torch, or set it yourself; a value you set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
