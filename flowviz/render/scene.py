"""FieldScene: the items of one view (heatmap, streamlines, arrows, trails, particles, data,
conditional rings, probe) inside a pyqtgraph PlotItem, fed from core.frames data.

The window and the exporter both draw through this class, so a video shows exactly what
the screen shows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from flowviz.core import frames
from flowviz.render.items import ArrowField, Heatmap, PointCloud, Segments
from flowviz.render.style import ARROW_CLASSES, Style

ARROW_MODES = ("length", "colour", "streamlines", "off")
_EMPTY = np.zeros((0, 2), np.float32)


class FieldScene:
    """Creates its items once in plot; every show_* call only updates their data."""

    def __init__(self, plot: pg.PlotItem, style: Style, *, lim: float = frames.LIM):
        self.plot = plot
        self.lim = lim
        self.heatmap = Heatmap(lim=lim, lut=style.heat_lut)
        self.stream = Segments(width=1.0)
        self.arrows = ArrowField(classes=ARROW_CLASSES)
        self.trails = Segments(width=1.0, antialias=False)
        self.particles = PointCloud(size=3.0)
        self.data = PointCloud(size=2.0)
        self.source = PointCloud(size=2.0)
        self.rings = Segments(width=2.0)
        self.marker = pg.ScatterPlotItem(size=13, symbol="o", pxMode=True)
        self.weights = pg.ScatterPlotItem(pxMode=True)
        self.probe_arrow = ArrowField(classes=1, width=2.5)
        for z, item in enumerate(
            [
                self.heatmap,
                self.stream,
                self.arrows,
                self.trails,
                self.source,
                self.data,
                self.particles,
                self.rings,
                self.weights,
                self.marker,
                self.probe_arrow,
            ]
        ):
            item.setZValue(z - 10)
            plot.addItem(item)
        self.mode = "length"
        self.arrow_scale = 0.0
        self._hue_classes = np.zeros(0, int)
        self._marker_at = None
        self.set_style(style)

    def set_style(self, style: Style) -> None:
        """Recolour every item (theme change); data stays."""
        self.style = style
        self.heatmap.set_lut(style.heat_lut)
        self.stream.set_colour(style.streamlines)
        self.arrows.set_colours(
            style.arrow_ramp if self.mode == "colour" else [style.arrows] * ARROW_CLASSES
        )
        self.trails.set_colour(style.trails)
        self.particles.set_colours(style.particles, self._hue_classes)
        self.data.set_colours([style.data], np.zeros(len(self.data.positions()), int))
        self.source.set_colours([style.source], np.zeros(len(self.source.positions()), int))
        self.rings.set_colour(style.rings)
        self.marker.setPen(pg.mkPen(style.background, width=2))
        self.marker.setBrush(pg.mkBrush(style.selected))
        self.weights.setPen(pg.mkPen(style.probe, width=1.5))
        self.weights.setBrush(pg.mkBrush(None))
        self.probe_arrow.set_colours([style.probe])
        for axis in ("left", "bottom"):
            ax = self.plot.getAxis(axis)
            ax.setPen(pg.mkPen(style.foreground))
            ax.setTextPen(pg.mkPen(style.foreground))

    # ------------------------------------------------------------ field

    def set_arrow_mode(self, mode: str) -> None:
        """'length' (arrow length ~ speed), 'colour' (unit arrows coloured by speed),
        'streamlines', or 'off'."""
        if mode not in ARROW_MODES:
            raise ValueError(f"unknown arrow mode {mode!r}")
        self.mode = mode
        self.set_style(self.style)

    def show_frame(self, frame: frames.FieldFrame | None, res: int) -> None:
        """Draw a field frame: arrows (per mode), streamlines, heat layer. None clears."""
        if frame is None:
            self.arrows.set_segments(_EMPTY)
            self.heatmap.set_heat(None)
            self.stream.set_segments(_EMPTY)
            return
        cell = 2 * self.lim / res
        if self.mode in ("length", "colour"):
            seg, self.arrow_scale = frames.arrow_segments(
                tails=frame.tails, vectors=frame.vectors, cell=cell, by=self.mode
            )
            classes = (
                frames.magnitude_classes(frame.vectors, ARROW_CLASSES)
                if self.mode == "colour"
                else None
            )
            self.arrows.set_segments(seg, classes)
        else:
            self.arrows.set_segments(_EMPTY)
        lines = frame.lines if self.mode == "streamlines" else None
        self.stream.set_segments(_EMPTY if lines is None else frames.to_pairs(lines))
        self.heatmap.set_heat(frame.heat)

    # ------------------------------------------------------------ particles and data

    def set_particle_starts(self, starts: np.ndarray) -> None:
        """Fix the particle colours: hue by angle of each particle's start position."""
        self._hue_classes = frames.hue_classes(starts) if len(starts) else np.zeros(0, int)
        self.particles.set_colours(self.style.particles, self._hue_classes)

    def show_particles(self, pos: np.ndarray, trails: np.ndarray | None = None) -> None:
        self.particles.set_positions(pos)
        self.trails.set_segments(_EMPTY if trails is None else frames.to_pairs(trails))

    def show_data(self, points: np.ndarray, source: np.ndarray | None = None) -> None:
        """The target points (N, 2) and, when drawn, the source points (M, 2)."""
        self.data.set_colours([self.style.data], np.zeros(len(points), int))
        self.data.set_positions(points)
        src = np.zeros((0, 2), np.float32) if source is None else source
        self.source.set_colours([self.style.source], np.zeros(len(src), int))
        self.source.set_positions(src)

    # ------------------------------------------------------------ conditional and probe

    def show_rings(self, rings: np.ndarray | None, z: np.ndarray | None) -> None:
        """1- and 2-sigma circles of p_t(x|z) and the chosen data point z."""
        self.rings.set_segments(_EMPTY if rings is None else frames.to_pairs(rings))
        key = None if z is None else (float(z[0]), float(z[1]))
        if key != self._marker_at:
            self._marker_at = key
            self.marker.setData([] if key is None else [{"pos": key}])

    def show_probe(self, x: np.ndarray | None, u: np.ndarray | None, weights=None, pts=None):
        """The probe at x (2,): its velocity u (2,) as an arrow of fixed screen-size scale,
        and data points pts (k, 2) circled by size ~ sqrt of posterior weights (k,)."""
        if x is None:
            self.probe_arrow.set_segments(_EMPTY)
            self.weights.setData([])
            return
        speed = float(np.linalg.norm(u))
        length = min(1.2, 0.25 * speed + 0.3)  # grows with speed, stays on screen
        seg, _ = frames.arrow_segments(
            tails=np.asarray([x], np.float32),
            vectors=np.asarray([u], np.float32),
            cell=length / 0.8,
            by="colour",
        )
        self.probe_arrow.set_segments(seg)
        if pts is None or not len(pts):
            self.weights.setData([])
            return
        w = np.asarray(weights, np.float64)
        self.weights.setData(pos=pts, size=6 + 22 * np.sqrt(w / max(w.max(), 1e-12)))
