"""A folder of video files as an action-free pretraining corpus.

Axis legend: F frames of a video, S side of the square frames handed to the encoder.

Every ``.mp4 .avi .webm .mov .mkv .gif`` file under the folder (recursively, sorted, the
``features/`` cache excluded) is one item. Frames are read with imageio, converted to RGB,
centre-cropped to a square and resized to ``size`` (the encoder's input side), and encoded once into
the same kind of feature cache as an episode dataset (``<folder>/features/<key>/``), with the fps
from the file's metadata; pretraining then reads episodes and videos the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["VIDEO_SUFFIXES", "VideoFolder", "square_resize"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".webm", ".mov", ".mkv", ".gif")


def square_resize(frames: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square and resize (bilinear, antialiased).

    Args:
        frames: (n, H, W, 3) uint8.
        size: output side.

    Returns:
        (n, size, size, 3) uint8.
    """
    n, height, width, _ = frames.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = frames[:, top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(crop)
    x = torch.from_numpy(np.ascontiguousarray(crop)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    """(H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA -> (H, W, 3) uint8."""
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=-1)
    if frame.shape[-1] == 4:
        frame = frame[..., :3]
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError(f"unsupported video frame shape {frame.shape}")
    return frame.astype(np.uint8, copy=False)


class VideoFolder:
    """A folder of videos seen as a ``FrameSource`` of the feature cache.

    Args:
        path: the folder.
        size: side of the square frames (the encoder's ``image_size``).

    Raises:
        FileNotFoundError: the folder does not exist or holds no video file.
    """

    def __init__(self, path: str | Path, *, size: int) -> None:
        self.path, self.size = Path(path), int(size)
        if not self.path.is_dir():
            raise FileNotFoundError(f"video folder {self.path} does not exist")
        self.files = sorted(
            p for p in self.path.rglob("*")
            if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file() and "features" not in p.relative_to(self.path).parts
        )
        if not self.files:
            raise FileNotFoundError(f"{self.path} holds no video files ({', '.join(VIDEO_SUFFIXES)})")
        self._fps: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self.files)

    def identity(self) -> dict[str, Any]:
        """The preprocessing every video goes through."""
        return {"kind": "videos", "size": self.size, "crop": "center", "resize": "bilinear-antialias"}

    def fps(self, index: int) -> float:
        """Frames per second from the file's metadata (``fps``, or a GIF's frame ``duration`` in ms)."""
        if index not in self._fps:
            meta = iio.immeta(self.files[index])
            if meta.get("fps"):
                fps = float(meta["fps"])
            elif meta.get("duration"):
                fps = 1000.0 / float(meta["duration"])
            else:
                raise ValueError(f"{self.files[index]}: no fps or frame duration in its metadata")
            self._fps[index] = fps
        return self._fps[index]

    def entry(self, index: int) -> dict[str, Any]:
        """Fingerprint of video ``index``: relative path, size in bytes and fps."""
        path = self.files[index]
        return {"name": str(path.relative_to(self.path)), "bytes": path.stat().st_size, "fps": self.fps(index)}

    def iter_frames(self, index: int, chunk: int) -> Iterator[np.ndarray]:
        """Frames of video ``index`` as (<= chunk, size, size, 3) uint8 arrays, in order."""
        buffer: list[np.ndarray] = []
        for frame in iio.imiter(self.files[index]):
            buffer.append(_to_rgb(np.asarray(frame)))
            if len(buffer) == chunk:
                yield square_resize(np.stack(buffer), self.size)
                buffer = []
        if buffer:
            yield square_resize(np.stack(buffer), self.size)
