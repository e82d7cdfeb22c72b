"""Frame data (core.frames) and render items, without a window."""

import subprocess
import sys

import numpy as np
import pytest

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


def test_a_square_view_keeps_the_square_grid():
    assert frames.view_extent(500, 500) == (frames.LIM, frames.LIM)
    lat = frames.lattice(21, frames.view_extent(500, 500))
    assert (lat.nx, lat.ny) == (21, 21)
    np.testing.assert_allclose(lat.cell, 2 * frames.LIM / 21)
    c = (np.arange(21) + 0.5) / 21 * 2 * frames.LIM - frames.LIM
    np.testing.assert_allclose(lat.points()[:21, 0], c, atol=1e-6)


@pytest.mark.parametrize(("width", "height"), [(780, 486), (486, 780), (1000, 999)])
def test_a_view_of_any_shape_is_covered_at_the_square_spacing(width, height):
    extent = frames.view_extent(width, height)
    assert min(extent) == pytest.approx(frames.LIM)
    assert extent[0] / extent[1] == pytest.approx(width / height)
    for res in (21, 72):
        lat = frames.lattice(res, extent)
        assert lat.cell == pytest.approx(2 * frames.LIM / res)  # more cells, not larger
        assert lat.nx * lat.ny <= frames.MAX_NODES * res * res
        pts = lat.points()
        for axis, n in ((0, lat.nx), (1, lat.ny)):
            # the outer centres lie within the view and within one cell of its edges
            assert extent[axis] - lat.cell <= pts[:, axis].max() <= extent[axis]
            assert pts[:, axis].min() == pytest.approx(-pts[:, axis].max())
            assert len(np.unique(pts[:, axis].round(5))) == n
        if res == 21:  # the arrows keep their parity: the square's arrows stay put
            square = frames.grid(res)
            near = np.abs(pts[:, None] - square[None]).max(-1).min(0)
            assert near.max() < 1e-5


def test_a_very_wide_view_is_coarsened_to_the_node_cap():
    extent = frames.view_extent(3000, 400)
    for res in (21, 72):
        lat = frames.lattice(res, extent)
        assert lat.nx * lat.ny <= frames.MAX_NODES * res * res
        assert lat.cell > 2 * frames.LIM / res
        pts = lat.points()
        for axis in (0, 1):
            assert extent[axis] - lat.cell <= pts[:, axis].max() <= extent[axis]


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
    on = frames.lattice(16)
    v = np.zeros((on.ny, on.nx, 2), np.float32)
    v[..., 0] = 1.0
    lines = frames.streamlines(v, on, seeds=3, steps=5)
    line = lines.reshape(9, 7, 2)[0]
    assert np.all(np.diff(line[:6, 0]) > 0) and np.allclose(line[:6, 1], line[0, 1])


def test_streamlines_of_a_wide_grid_start_across_it():
    on = frames.lattice(16, (2 * frames.LIM, frames.LIM))
    v = np.zeros((on.ny, on.nx, 2), np.float32)
    v[..., 1] = np.linspace(-1, 1, on.nx)  # up on the right, down on the left
    lines = frames.streamlines(v, on, seeds=4, steps=5).reshape(-1, 7, 2)
    x0, rise = lines[:, 0, 0], lines[:, 5, 1] - lines[:, 0, 1]
    assert x0.max() > 1.4 * frames.LIM and x0.min() < -1.4 * frames.LIM
    assert (rise[x0 > frames.LIM] > 0).all() and (rise[x0 < -frames.LIM] < 0).all()
