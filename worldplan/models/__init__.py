"""The world model: frozen DINOv2 encoder, DINO-world predictor, action blocks, rollout, checkpoints.

Axis legend: B episodes, N candidates, T context frames, H horizon (model steps), P patches,
D feature size, A action size of one model step, S image side in pixels.
"""

from worldplan.models.actions import finetune_parameters, load_pretrained_predictor
from worldplan.models.checkpoint import (
    CheckpointError,
    load_pretrained_weights,
    load_weights_into,
    load_world_model,
    read_checkpoint_meta,
    save_checkpoint,
    upload_checkpoint,
)
from worldplan.models.encoder import FrozenEncoder
from worldplan.models.precision import autocast, resolve_device, resolve_dtype
from worldplan.models.predictor import Predictor, smooth_l1
from worldplan.models.weights import WeightsNotFoundError
from worldplan.models.world_model import DataWindow, WorldModel

__all__ = [
    "CheckpointError", "DataWindow", "FrozenEncoder", "Predictor", "WeightsNotFoundError", "WorldModel",
    "autocast", "finetune_parameters", "load_pretrained_predictor",
    "load_pretrained_weights", "load_weights_into", "load_world_model", "read_checkpoint_meta",
    "resolve_device", "resolve_dtype", "save_checkpoint", "smooth_l1", "upload_checkpoint",
]
