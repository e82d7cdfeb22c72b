"""Render items hold exactly what they were given (no window needed)."""

import numpy as np
import pyqtgraph as pg

from flowviz.render.items import ArrowField, PointCloud, Segments
from flowviz.render.scene import FieldScene
from flowviz.render.style import Style


def test_point_cloud_keeps_the_caller_order(qapp):
    cloud = PointCloud()
    pos = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    groups = np.arange(50) % 5
    cloud.set_colours([(255, 0, 0, 255)] * 5, groups)
    cloud.set_positions(pos)
    np.testing.assert_array_equal(cloud.positions(), pos)
    assert cloud.boundingRect().contains(float(pos[0, 0]), float(pos[0, 1]))


def test_segments_drop_nan_pairs(qapp):
    seg = Segments()
    rows = np.array([[0, 0], [1, 1], [np.nan, 0], [2, 2], [3, 3], [4, 4]], np.float32)
    seg.set_segments(rows)
    np.testing.assert_array_equal(seg.segments(), [[0, 0], [1, 1], [3, 3], [4, 4]])


def test_arrow_colour_classes_split_the_arrows(qapp):
    arrows = ArrowField(classes=3)
    seg = np.arange(3 * 6 * 2, dtype=np.float32).reshape(18, 2)
    arrows.set_segments(seg, np.array([2, 0, 2]))
    assert len(arrows.parts[0].segments()) == 6 and len(arrows.parts[2].segments()) == 12


def test_scene_renders_to_an_image_in_both_themes(qapp):
    for dark in (False, True):
        widget = pg.PlotWidget()
        scene = FieldScene(widget.getPlotItem(), Style(dark=dark))
        scene.show_data(np.zeros((3, 2), np.float32))
        scene.set_style(Style(dark=not dark))
        widget.resize(200, 200)
        assert not widget.grab().isNull()
        widget.close()
