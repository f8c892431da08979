"""Frames from other sources brought to worldplan's square ``(S, S, 3)`` uint8 frames.

Renders of user envs and frames of imported datasets are resized to the square side S as a whole
(stretched, no crop), so nothing the env draws near its borders is cut off; a square frame of side S
is passed through untouched.
"""

from __future__ import annotations

import logging
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)


def to_rgb(frames: np.ndarray) -> np.ndarray:
    """(..., H, W) grey, (..., H, W, 3) RGB or (..., H, W, 4) RGBA -> (..., H, W, 3) uint8.

    Raises:
        ValueError: other shapes or a dtype other than uint8.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB images, got {frames.dtype}")
    if frames.ndim >= 2 and (frames.ndim == 2 or frames.shape[-1] not in (3, 4)):
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.shape[-1] == 4:
        frames = frames[..., :3]
    return frames


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize whole frames to ``size`` x ``size`` (Pillow's bilinear filter, which widens its support
    when shrinking, so it antialiases).

    Args:
        frames: (n, H, W, 3) uint8.
        size: S, the output side.

    Returns:
        (n, S, S, 3) uint8 (the input itself when it is already S x S).
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"resize_frames needs (n, H, W, 3) uint8 frames, got {frames.dtype} {frames.shape}")
    if frames.shape[1:3] == (size, size):
        return frames
    resized = [np.asarray(Image.fromarray(np.ascontiguousarray(f)).resize((size, size), Image.BILINEAR))
               for f in frames]
    return np.stack(resized) if resized else np.empty((0, size, size, 3), np.uint8)


def resize_frame(frame: np.ndarray, size: int) -> np.ndarray:
    """One (H, W, 3|4) uint8 frame -> (S, S, 3) uint8."""
    return resize_frames(to_rgb(frame)[None], size)[0]


def load_image(path: str | Path, size: int) -> np.ndarray:
    """Read a png/jpg goal image file as an (S, S, 3) uint8 RGB image.

    An image of another size or aspect than the env's S x S frames is resized to S x S as a whole
    (stretched, no crop: what happens to the env's own renders of that shape), with a warning naming
    both sizes; an S x S image is used untouched.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"goal image {path} not found")
    try:
        image = iio.imread(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"goal image {path} is not a readable image ({err})") from err
    if image.ndim == 4:  # an animated file: its first frame
        image = image[0]
    height, width = image.shape[:2]
    if (height, width) != (size, size):
        log.warning("goal image %s is %dx%d px (width x height) but the env's frames are %dx%d px: resized%s to "
                    "%dx%d; save the goal at %dx%d px, or as the env renders it, to plan towards it as given",
                    path, width, height, size, size, "" if height == width else " and stretched", size, size,
                    size, size)
    return resize_frame(image, size)
