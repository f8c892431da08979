"""Videos: integer upscaling, side-by-side, titled and tiled layouts, mp4 + JSON sidecar written atomically."""

from __future__ import annotations

import json

import imageio.v2 as imageio
import numpy as np
import pytest

from worldplan.data.video import TITLE_BAR, side_by_side, tile_episodes, titled_panels, upscale, write_video


def clip(steps: int, value: int, size: int = 8) -> np.ndarray:
    return np.full((steps, size, size, 3), value, np.uint8)


def test_upscale_repeats_pixels_to_reach_256():
    frames = np.arange(2 * 64 * 64 * 3, dtype=np.uint32).reshape(2, 64, 64, 3).astype(np.uint8)
    big = upscale(frames)
    assert big.shape == (2, 256, 256, 3)
    np.testing.assert_array_equal(big[:, ::4, ::4], frames)
    assert upscale(clip(1, 0, size=300)).shape == (1, 300, 300, 3)


def test_side_by_side_broadcasts_a_goal_image():
    joined = side_by_side(clip(3, 10), clip(1, 200)[0])
    assert joined.shape == (3, 8, 16, 3)
    assert (joined[:, :, :8] == 10).all() and (joined[:, :, 8:] == 200).all()
    with pytest.raises(ValueError, match="equal frame counts and heights"):
        side_by_side(clip(3, 0), clip(2, 0))


def test_titled_panels_put_each_title_over_its_own_panel():
    video = titled_panels([clip(3, 10, size=48), clip(3, 90, size=48), clip(1, 200, size=48)[0]],
                          ["observed", "nearest", "goal"])
    assert video.shape == (3, TITLE_BAR + 48, 3 * 48, 3)
    assert (video[:, TITLE_BAR:, 48:96] == 90).all() and (video[:, TITLE_BAR:, 96:] == 200).all()
    bars = [video[0, :TITLE_BAR, i * 48 : (i + 1) * 48] for i in range(3)]
    assert all(bar.any() for bar in bars)  # text drawn over every panel
    assert not np.array_equal(bars[1], titled_panels([clip(1, 0, size=48)], ["decoded"])[0, :TITLE_BAR])
    with pytest.raises(ValueError, match="one title per panel"):
        titled_panels([clip(1, 0)], ["a", "b"])


def test_tile_episodes_holds_the_last_frame_of_short_clips():
    short = np.concatenate([clip(1, 50), clip(1, 60)])
    grid = tile_episodes([clip(4, 10), short, clip(4, 30)], gap=2)
    assert grid.shape == (4, 18, 18, 3)
    assert (grid[3, :8, 10:] == 60).all() and (grid[:, 10:, :8] == 30).all()
    assert (grid[:, 8:10] == 128).all()


def test_write_video_writes_upscaled_mp4_and_sidecar(tmp_path):
    frames = np.zeros((5, 16, 16, 3), np.uint8)
    frames[:, 4:12, 4:12, 0] = 255
    path = write_video(tmp_path / "v" / "out.mp4", frames, fps=5, metadata={"weights": "random-init"})
    read = np.stack(imageio.mimread(path))
    assert read.shape == (5, 256, 256, 3)
    assert read[2, 128, 128, 0] > 200 and read[2, 10, 10, 0] < 50
    sidecar = json.loads((tmp_path / "v" / "out.mp4.json").read_text())
    assert sidecar["weights"] == "random-init" and sidecar["frames"] == 5 and sidecar["video_size"] == [256, 256]
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["out.mp4", "out.mp4.json"]


def test_write_video_rejects_float_frames(tmp_path):
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\) uint8"):
        write_video(tmp_path / "out.mp4", np.zeros((2, 8, 8, 3), np.float32), fps=5, metadata={})
