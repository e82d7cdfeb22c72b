"""Frame data (core.frames) and render items, without a window."""

import subprocess
import sys

import numpy as np

from flowviz.core import frames


def test_frames_module_imports_neither_torch_nor_qt():
    code = (
        "import sys, flowviz.core.frames; "
        "print(any(m.split('.')[0] in ('torch', 'PySide6') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_grid_is_row_major_cell_centres():
    g = frames.grid(4, lim=2.0)
    assert g.shape == (16, 2)
    np.testing.assert_allclose(g[:4, 0], [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_allclose(g[::4, 1], [-1.5, -0.5, 0.5, 1.5])


def test_arrows_point_along_the_field_with_heads_behind_the_tip():
    tails = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    v = np.array([[1.0, 0.0], [0.0, -2.0]], np.float32)
    seg, scale = frames.arrow_segments(tails=tails, vectors=v, cell=0.5)
    a = seg.reshape(-1, 6, 2)
    np.testing.assert_allclose(a[:, 1] - a[:, 0], scale * v, rtol=1e-6)
    for k in range(2):
        tip, left, right = a[k, 1], a[k, 3], a[k, 5]
        d = v[k] / np.linalg.norm(v[k])
        assert (left - tip) @ d < 0 and (right - tip) @ d < 0  # barbs trail the tip
    seg_c, _ = frames.arrow_segments(tails=tails, vectors=v, cell=0.5, by="colour")
    lengths = np.linalg.norm(seg_c.reshape(-1, 6, 2)[:, 1] - tails, axis=1)
    np.testing.assert_allclose(lengths, 0.4)


def test_trails_follow_the_direction_of_play():
    traj = np.linspace(0, 1, 11, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    fwd = frames.trail_lines(traj, 0.5, 3)
    rows = fwd.reshape(2, -1, 2)[0]
    np.testing.assert_allclose(rows[:-1, 0], [0.2, 0.3, 0.4, 0.5, 0.5])
    back = frames.trail_lines(traj, 0.5, 3, reverse=True).reshape(2, -1, 2)[0]
    np.testing.assert_allclose(back[:-1, 0], [0.8, 0.7, 0.6, 0.5, 0.5])
    pairs = frames.to_pairs(fwd)
    assert pairs.shape == (2 * (len(fwd) - 1), 2)


def test_at_time_interpolates_between_steps():
    traj = np.stack([np.zeros((3, 2)), np.ones((3, 2))]).astype(np.float32)
    np.testing.assert_allclose(frames.at_time(traj, 0.25), 0.25)
    np.testing.assert_allclose(frames.at_time(traj, 1.0), 1.0)


def test_spray_lands_in_the_swept_disc():
    rng = np.random.default_rng(0)
    pts = frames.spray(start=np.zeros(2), end=np.array([1.0, 0.0]), count=500, radius=0.2, rng=rng)
    assert pts.shape == (500, 2)
    assert (pts[:, 0] > -0.2).all() and (pts[:, 0] < 1.2).all() and (np.abs(pts[:, 1]) <= 0.2).all()


def test_image_points_come_from_dark_pixels_with_y_up():
    gray = np.ones((10, 20))
    gray[:5, 10:] = 0.0  # dark top-right quadrant
    pts = frames.image_points(gray, n=400, rng=np.random.default_rng(0), half_width=2.0)
    assert (pts[:, 0] >= 0).all() and (pts[:, 1] >= 0).all()


def test_hue_classes_group_by_angle():
    angles = np.linspace(-np.pi, np.pi, 12, endpoint=False) + 0.1
    starts = np.stack([np.cos(angles), np.sin(angles)], 1)
    assert sorted(frames.hue_classes(starts, 12)) == list(range(12))


def test_streamlines_follow_a_uniform_field():
    v = np.zeros((16, 16, 2), np.float32)
    v[..., 0] = 1.0
    lines = frames.streamlines(v, lim=2.0, seeds=3, steps=5)
    line = lines.reshape(9, 7, 2)[0]
    assert np.all(np.diff(line[:6, 0]) > 0) and np.allclose(line[:6, 1], line[0, 1])
