"""MP4 videos of frames: upscaled so small renders are visible, written atomically, with a JSON sidecar.

``write_video(path, frames, fps, metadata=...)`` writes ``path`` and ``<path>.json`` (the metadata plus
the video's frame count, fps and scale); ``side_by_side`` puts observation and goal next to each other,
``titled_panels`` several videos under title bars (observation | imagined | goal); ``tile_episodes``
arranges several episodes in a grid for a preview.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from worldplan.atomic import atomic_path, write_json_atomic
from worldplan.data.episodes import EpisodeDataset

MIN_SIDE = 256          # frames are upscaled by an integer factor until their short side is >= this
MACRO_BLOCK = 16        # H.264 encodes in 16-px blocks: frames are padded to a multiple of it
TITLE_BAR = 12          # px of the black bar above each panel that holds its title

log = logging.getLogger(__name__)


def _check_frames(frames: np.ndarray, name: str = "frames") -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    return frames


def upscale(frames: np.ndarray, min_side: int = MIN_SIDE) -> np.ndarray:
    """Nearest-neighbour upscale by the smallest integer factor that makes the short side >= ``min_side``.

    Args:
        frames: (T, H, W, 3) uint8.
    Returns:
        (T, k*H, k*W, 3) uint8 with k = ceil(min_side / min(H, W)) (k = 1 for large frames).
    """
    scale = max(1, math.ceil(min_side / min(frames.shape[1:3])))
    if scale == 1:
        return frames
    return frames.repeat(scale, axis=1).repeat(scale, axis=2)


def side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Concatenate two videos left | right, e.g. observation | goal.

    Args:
        a: (T, H, W1, 3) uint8.
        b: (T, H, W2, 3) uint8, or one (H, W2, 3) image (such as a goal image) shown for all T frames.
    Returns:
        (T, H, W1 + W2, 3) uint8.
    """
    a = _check_frames(a, "a")
    b = np.asarray(b)
    if b.ndim == 3:
        b = np.broadcast_to(b, (a.shape[0], *b.shape))
    b = _check_frames(b, "b")
    if b.shape[:2] != a.shape[:2]:
        raise ValueError(f"side_by_side needs equal frame counts and heights, got {a.shape} and {b.shape}")
    return np.concatenate([a, b], axis=2)


def _title_bar(title: str, width: int) -> np.ndarray:
    """(TITLE_BAR, width, 3) uint8: ``title`` in white on black, clipped to ``width``."""
    bar = Image.new("RGB", (width, TITLE_BAR))
    ImageDraw.Draw(bar).text((2, 0), title, fill=(255, 255, 255), font=ImageFont.load_default())
    return np.asarray(bar)


def titled_panels(panels: list[np.ndarray], titles: list[str]) -> np.ndarray:
    """Put videos left to right, each under a title bar naming it (e.g. observed | decoded | goal).

    Args:
        panels: (T, H, W_i, 3) uint8 videos, or (H, W_i, 3) images shown for all T frames; the first is a video.
        titles: one short title per panel (about 6 px per character; clipped to the panel's width).
    Returns:
        (T, TITLE_BAR + H, sum W_i, 3) uint8.
    """
    if not panels or len(panels) != len(titles):
        raise ValueError(f"titled_panels needs one title per panel, got {len(panels)} panels, {len(titles)} titles")
    video = _check_frames(panels[0], "panel 0")
    for panel in panels[1:]:
        video = side_by_side(video, panel)
    bar = np.concatenate([_title_bar(t, np.asarray(p).shape[-2]) for p, t in zip(panels, titles)], axis=1)
    return np.concatenate([np.broadcast_to(bar, (video.shape[0], *bar.shape)), video], axis=1)


def tile_episodes(clips: list[np.ndarray], *, columns: int | None = None, gap: int = 2) -> np.ndarray:
    """Tile several episodes into one video grid; shorter clips hold their last frame.

    Args:
        clips: list of (T_i, H, W, 3) uint8, all of the same H and W.
        columns: grid width (default: ceil(sqrt(len(clips)))).
        gap: pixels of mid-grey between tiles.
    Returns:
        (max T_i, rows*(H+gap)-gap, columns*(W+gap)-gap, 3) uint8.
    """
    if not clips:
        raise ValueError("tile_episodes needs at least one clip")
    clips = [_check_frames(c, f"clip {i}") for i, c in enumerate(clips)]
    height, width = clips[0].shape[1:3]
    if any(c.shape[1:3] != (height, width) for c in clips):
        raise ValueError(f"all clips must share one frame size, got {[c.shape[1:3] for c in clips]}")
    columns = columns or math.ceil(math.sqrt(len(clips)))
    rows = math.ceil(len(clips) / columns)
    steps = max(c.shape[0] for c in clips)
    grid = np.full((steps, rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 128, np.uint8)
    for i, clip in enumerate(clips):
        top, left = (i // columns) * (height + gap), (i % columns) * (width + gap)
        tile = grid[:, top:top + height, left:left + width]
        tile[: clip.shape[0]] = clip
        tile[clip.shape[0]:] = clip[-1]
    return grid


def write_video(path: str | Path, frames: np.ndarray, fps: float, *, metadata: dict[str, Any]) -> Path:
    """Write an H.264 mp4 (upscaled, padded to 16 px blocks) and a ``<path>.json`` metadata sidecar.

    Args:
        path: the ``.mp4`` file to write (parent directories are created); replaced atomically.
        frames: (T, H, W, 3) uint8.
        fps: frames per second of playback.
        metadata: JSON values saved in the sidecar, e.g. env id, episode seeds, encoder weights source.
    Returns:
        the video path.
    """
    frames = _check_frames(frames)
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    path = Path(path)
    if path.suffix != ".mp4":
        raise ValueError(f"write_video writes .mp4 files, got {path}")
    video = upscale(frames)
    pad_h, pad_w = (-video.shape[1]) % MACRO_BLOCK, (-video.shape[2]) % MACRO_BLOCK
    if pad_h or pad_w:
        video = np.pad(video, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    with atomic_path(path) as tmp, imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264",
                                                      macro_block_size=MACRO_BLOCK, ffmpeg_log_level="error") as writer:
        for frame in video:
            writer.append_data(frame)
    sidecar = {**metadata, "frames": int(frames.shape[0]), "fps": float(fps),
               "source_size": list(frames.shape[1:3]), "video_size": list(video.shape[1:3])}
    write_json_atomic(path.with_name(path.name + ".json"), sidecar)
    log.info("wrote %s (%d frames, %dx%d)", path, frames.shape[0], video.shape[2], video.shape[1])
    return path


def write_dataset_preview(dataset: EpisodeDataset, path: str | Path, *, episodes: int) -> Path | None:
    """Tile the first ``episodes`` episodes of ``dataset`` into one preview video (None if 0 episodes)."""
    count = min(episodes, len(dataset))
    if count <= 0:
        return None
    clips = [np.asarray(dataset[i].frames) for i in range(count)]
    meta = dataset.meta
    metadata = {"dataset": str(dataset.path), "env_id": meta.env_id, "env_kwargs": meta.env_kwargs,
                "policy": meta.policy, "episodes": list(range(count)),
                "seeds": [meta.episodes[i]["seed"] for i in range(count)]}
    # an env without metadata["render_fps"] records fps 0: play its preview at 10 frames per second
    return write_video(path, tile_episodes(clips), meta.fps or 10.0, metadata=metadata)
