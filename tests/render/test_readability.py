"""Readable at a projector: particles above the data, round markers, streamline direction,
a colour bar for the heat layer and a legend for particle colours (no window needed)."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from flowviz.core import frames
from flowviz.render.scene import FieldScene, streamline_heads
from flowviz.render.style import Style


@pytest.fixture
def view(qapp):
    widget = pg.PlotWidget()
    widget.resize(400, 400)
    plot = widget.getPlotItem()
    plot.setAspectLocked(True)
    plot.setRange(xRange=(-frames.LIM, frames.LIM), yRange=(-frames.LIM, frames.LIM), padding=0)
    scene = FieldScene(plot, Style(dark=False))
    widget.show()
    yield widget, scene
    widget.close()


def _frame(*, heat: bool, lines: bool) -> frames.FieldFrame:
    fine, arrows = frames.lattice(24), frames.lattice(8)
    v = np.full((fine.ny, fine.nx, 2), [1.0, 0.5], np.float32)  # a uniform field
    tails = arrows.points()
    return frames.FieldFrame(
        t=0.5,
        tails=tails,
        vectors=np.tile(np.float32([1.0, 0.5]), (len(tails), 1)),
        heat=np.full((fine.ny, fine.nx), 0.5, np.float32) if heat else None,
        lines=frames.streamlines(v, fine) if lines else None,
        arrows=arrows,
        heat_grid=fine,
    )


def _pixel(widget, plot, xy):
    p = plot.getViewBox().mapViewToScene(QPointF(*xy))
    return widget.mapFromScene(p)


def test_particles_are_stacked_above_the_data(view):
    _, scene = view
    assert scene.particles.zValue() > scene.data.zValue()
    assert scene.particles.zValue() > scene.source.zValue()
    assert scene.particles.zValue() > scene.heatmap.zValue()


def test_a_particle_on_a_data_point_shows_its_own_colour(view):
    """At t = 1 particles land on the data: the particle must be what one sees there."""
    widget, scene = view
    pts = np.float32([[0.5, 0.5], [-1.0, 1.0]])
    scene.show_data(pts)
    scene.set_particle_starts(np.float32([[1.0, 0.0], [-1.0, 0.0]]))
    scene.show_particles(pts.copy())
    image = widget.grab().toImage()
    data_grey = scene.style.data[:3]
    for xy in pts:
        px = _pixel(widget, scene.plot, xy)
        c = image.pixelColor(px.x(), px.y())
        rgb = (c.red(), c.green(), c.blue())
        assert rgb != data_grey
        assert max(rgb) - min(rgb) > 60  # a saturated hue, not the grey of the data


def test_markers_are_round_discs(view):
    _, scene = view
    scene.set_particle_starts(np.float32([[1.0, 0.0], [-1.0, 0.0]]))
    for cloud in (scene.particles, scene.data):
        sprite = cloud.sprite(0)
        n = sprite.width()
        centre = sprite.pixelColor(n // 2, n // 2).alpha()
        corner = sprite.pixelColor(0, 0).alpha()
        assert centre == 255 and corner == 0
        # a square marker would cover its corners: a disc leaves the diagonal's ends empty
        r = cloud.size() / 2
        off = int(np.floor(n / 2 - 0.8 * r))
        assert sprite.pixelColor(off, off).alpha() < 128 <= sprite.pixelColor(n // 2, off).alpha()


def test_particles_have_a_contrasting_outline(view):
    _, scene = view
    scene.set_particle_starts(np.float32([[1.0, 0.0], [-1.0, 0.0]]))
    sprite = scene.particles.sprite(0)
    n = sprite.width()
    row = [sprite.pixelColor(x, n // 2) for x in range(n)]
    inner = row[n // 2]
    darkest = min(c.lightness() for c in row if c.alpha() > 128)
    assert darkest < inner.lightness() - 40


def test_streamlines_end_in_arrowheads_pointing_downstream(view):
    _, scene = view
    scene.set_arrow_mode("streamlines")
    frame = _frame(heat=False, lines=True)
    scene.show_frame(frame)
    heads = scene.stream_heads.segments().reshape(-1, 4, 2)
    n_lines = int(np.isnan(frame.lines).all(1).sum())
    assert n_lines > 0 and len(heads) == n_lines
    tip, left, right = heads[:, 0], heads[:, 1], heads[:, 3]
    flow = np.float32([1.0, 0.5])
    assert ((left - tip) @ flow < 0).all() and ((right - tip) @ flow < 0).all()
    # the tips are the streamlines' last points
    ends = frame.lines[np.flatnonzero(np.isnan(frame.lines).all(1)) - 1]
    np.testing.assert_allclose(np.sort(tip, 0), np.sort(ends, 0), atol=1e-5)


def test_no_arrowheads_without_streamlines(view):
    _, scene = view
    scene.set_arrow_mode("length")
    scene.show_frame(_frame(heat=False, lines=True))
    assert len(scene.stream_heads.segments()) == 0
    assert len(scene.arrows.segments()) > 0


def test_streamline_heads_skip_stalled_and_single_point_lines():
    nan = [np.nan, np.nan]
    lines = np.float32([[0, 0], [1, 0], nan, [2, 2], [2, 2], nan, [5, 5], nan])
    heads = streamline_heads(lines, size=0.1).reshape(-1, 4, 2)
    assert len(heads) == 1
    np.testing.assert_allclose(heads[0, 0], [1, 0])
    assert (heads[0, [1, 3], 0] < 1).all()


def test_colour_bar_follows_the_heat_layer(view):
    _, scene = view
    assert not scene.colorbar.isVisible()
    scene.show_frame(_frame(heat=True, lines=False))
    assert scene.colorbar.isVisible()
    scene.show_frame(_frame(heat=False, lines=False))
    assert not scene.colorbar.isVisible()
    scene.show_frame(_frame(heat=True, lines=False))
    scene.show_frame(None)
    assert not scene.colorbar.isVisible()
    scene.show_colorbar(False)
    scene.show_frame(_frame(heat=True, lines=False))
    assert not scene.colorbar.isVisible()
    scene.show_colorbar(True)
    assert scene.colorbar.isVisible()


def test_colour_bar_says_what_it_shows(view):
    _, scene = view
    assert scene.colorbar.labels() == ("", "high", "low")
    scene.set_colorbar("exact", "off by |u|", "error")
    assert scene.colorbar.labels() == ("error", "off by |u|", "exact")
    assert scene.colorbar.boundingRect().height() > 60  # a bar, not a sliver


def test_legend_follows_the_particles(view):
    _, scene = view
    assert not scene.legend.isVisible()
    scene.set_particle_starts(np.zeros((3, 2), np.float32))
    scene.show_particles(np.zeros((3, 2), np.float32))
    assert scene.legend.isVisible()
    assert "where the particle started" in scene.legend.text()
    scene.show_legend(False)
    assert not scene.legend.isVisible()
    scene.show_legend(True)
    scene.show_particles(np.zeros((0, 2), np.float32))
    assert not scene.legend.isVisible()


def test_keys_stay_put_when_the_camera_pans(view):
    _, scene = view
    scene.show_frame(_frame(heat=True, lines=False))
    scene.set_particle_starts(np.zeros((3, 2), np.float32))
    scene.show_particles(np.zeros((3, 2), np.float32))
    before = [key.scenePos() for key in (scene.colorbar, scene.legend)]
    scene.plot.setRange(xRange=(0, 5), yRange=(1, 6), padding=0)
    after = [key.scenePos() for key in (scene.colorbar, scene.legend)]
    assert before == after
    view_rect = scene.plot.getViewBox().sceneBoundingRect()
    for key in (scene.colorbar, scene.legend):
        assert view_rect.contains(key.sceneBoundingRect())


def test_keys_are_not_painted_every_frame(view):
    """A key is rendered to an image once; new particle positions reuse it."""
    _, scene = view
    scene.set_particle_starts(np.zeros((3, 2), np.float32))
    scene.show_particles(np.zeros((3, 2), np.float32))
    first = scene.legend.image()
    scene.show_particles(np.ones((3, 2), np.float32))
    assert scene.legend.image() is first
    scene.set_style(Style(dark=True))
    assert scene.legend.image() is not first


def test_non_finite_particles_are_skipped_not_fatal(view):
    widget, scene = view
    pos = np.float32([[0.5, 0.5], [np.nan, 0.0], [np.inf, 1.0]])
    scene.set_particle_starts(np.float32([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]))
    scene.show_particles(pos)
    rect = scene.particles.boundingRect()
    assert rect.contains(0.5, 0.5) and rect.width() < 1.0
    image = widget.grab().toImage()
    px = _pixel(widget, scene.plot, pos[0])
    assert image.pixelColor(px.x(), px.y()).lightness() < 200  # the finite one is drawn


def _covered(scene, key) -> int:
    """Data points under key's rectangle on screen."""
    box = scene.plot.getViewBox()
    rect = key.sceneBoundingRect()
    pts = scene.data.positions()
    return sum(rect.contains(box.mapViewToScene(QPointF(float(x), float(y)))) for x, y in pts)


@pytest.mark.parametrize("corner", [(-1, -1), (1, 1), (-1, 1), (1, -1)])
def test_keys_move_off_the_data(view, corner):
    """Data crowded into one corner of the view: neither key covers a data point (each
    moves to a free corner; issue 16: the legend covered data at the bottom left)."""
    _, scene = view
    scene.show_frame(_frame(heat=True, lines=False))
    scene.set_particle_starts(np.zeros((3, 2), np.float32))
    scene.show_particles(np.zeros((3, 2), np.float32))
    rng = np.random.default_rng(0)
    blob = np.float32(corner) * 2.9 + rng.uniform(-0.6, 0.6, (300, 2)).astype(np.float32)
    scene.show_data(blob)
    assert scene.colorbar.isVisible() and scene.legend.isVisible()
    for key in (scene.colorbar, scene.legend):
        assert _covered(scene, key) == 0
    assert scene.colorbar.corner() != scene.legend.corner()
    assert not scene.colorbar.sceneBoundingRect().intersects(scene.legend.sceneBoundingRect())


def test_keys_keep_their_usual_corners_when_those_are_free(view):
    _, scene = view
    scene.show_data(np.float32([[0.0, 0.0], [0.5, -0.2]]))
    assert scene.colorbar.corner() == (1, 0) and scene.legend.corner() == (0, 1)
