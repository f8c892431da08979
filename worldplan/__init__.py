"""worldplan: model-based planning with a pretrained latent video world model.

Axis legend used throughout the code base:
    B episodes, N candidates, T context frames, H horizon (model steps),
    P patches (tokens per frame), D feature size, A action size of one model step.
"""

import os

# MuJoCo must pick its GL backend before it is first imported; respect a value the user set.
os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"
