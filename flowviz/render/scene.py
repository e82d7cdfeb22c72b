"""FieldScene: the items of one view (heatmap, streamlines, arrows, trails, particles, data,
conditional rings, probe) inside a pyqtgraph PlotItem, fed from core.frames data, and its
keys: a colour bar while a heat layer is shown, a legend while particles are.

The window and the exporter both draw through this class, so a video shows exactly what
the screen shows. Stacking, bottom to top: heat, streamlines, arrows, trails, source and
data points (small, grey), particles (round, outlined: above the data, so they stay visible
where they converge onto it at t = 1), rings, probe; the keys float above everything.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from flowviz.core import frames
from flowviz.render.items import ArrowField, Heatmap, PointCloud, Segments
from flowviz.render.overlays import ColourBar, ParticleLegend
from flowviz.render.style import ARROW_CLASSES, Style

ARROW_MODES = ("length", "colour", "streamlines", "off")
_EMPTY = np.zeros((0, 2), np.float32)
PARTICLE_SIZE, PARTICLE_EDGE = 6.0, 1.0  # screen pixels: disc diameter, outline width
DATA_SIZE = 3.5
#: Corners a key may sit in: (0 left / 1 right, 0 top / 1 bottom), in order of preference.
KEY_CORNERS = ((1, 0), (0, 1), (0, 0), (1, 1))
STREAM_HEAD = 0.02  # streamline arrowhead barb length, as a fraction of the view's width


def streamline_heads(lines: np.ndarray, *, size: float) -> np.ndarray:
    """An arrowhead at the end of each polyline, pointing along its last step, so a
    streamline shows which way the flow goes. lines (k, 2) rows with NaN breaks (as from
    frames.streamlines); size: barb length in data units. -> (4m, 2) segment pairs, two barbs
    per line that moved (a line stalled where the field vanishes gets none)."""
    rows = np.asarray(lines, np.float64).reshape(-1, 2)
    if len(rows) < 2:
        return np.zeros((0, 2), np.float32)
    ok = np.isfinite(rows).all(1)
    last = ok & np.append(~ok[1:], True)  # the row before a break (or the final row)
    last[0] = False
    last &= np.insert(ok[:-1], 0, False)  # ... with a previous point to give a direction
    idx = np.flatnonzero(last)
    tip = rows[idx]
    step = tip - rows[idx - 1]
    length = np.linalg.norm(step, axis=1)
    moved = length > 1e-9
    tip, back = tip[moved], -step[moved] / length[moved, None]
    normal = np.stack([-back[:, 1], back[:, 0]], 1)
    left = tip + size * (0.87 * back + 0.5 * normal)
    right = tip + size * (0.87 * back - 0.5 * normal)
    return np.stack([tip, left, tip, right], 1).reshape(-1, 2).astype(np.float32)


class FieldScene:
    """Creates its items once in plot; every show_* call only updates their data."""

    def __init__(self, plot: pg.PlotItem, style: Style, *, lim: float = frames.LIM):
        self.plot = plot
        self.lim = lim
        self.heatmap = Heatmap(lut=style.heat_lut)
        self.stream = Segments(width=1.0)
        self.stream_heads = Segments(width=1.2)
        self.arrows = ArrowField(classes=ARROW_CLASSES)
        self.trails = Segments(width=1.0, antialias=False)
        self.particles = PointCloud(size=PARTICLE_SIZE, outline=PARTICLE_EDGE)
        self.data = PointCloud(size=DATA_SIZE)
        self.source = PointCloud(size=DATA_SIZE)
        self.rings = Segments(width=2.0)
        self.marker = pg.ScatterPlotItem(size=13, symbol="o", pxMode=True)
        self.weights = pg.ScatterPlotItem(pxMode=True)
        self.probe_arrow = ArrowField(classes=1, width=2.5)
        for z, item in enumerate(
            [
                self.heatmap,
                self.stream,
                self.stream_heads,
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
        self.colorbar = ColourBar(style.heat_lut)
        self.legend = ParticleLegend(style.particles)
        for key in (self.colorbar, self.legend):
            key.attach(plot.getViewBox())
            key.setVisible(False)
        box = plot.getViewBox()
        box.sigRangeChanged.connect(lambda *_: self.place_keys())
        box.sigResized.connect(lambda *_: self.place_keys())
        self._colorbar_on = self._legend_on = True
        self._heat_shown = self._particles_shown = False
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
        self.stream_heads.set_colour(style.streamlines)
        self.arrows.set_colours(
            style.arrow_ramp if self.mode == "colour" else [style.arrows] * ARROW_CLASSES
        )
        self.trails.set_colour(style.trails)
        self.particles.set_colours(style.particles, self._hue_classes, style.particle_edges)
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
        for key in (self.colorbar, self.legend):
            key.set_colours(foreground=style.foreground, background=style.background)
        self.colorbar.set_lut(style.heat_lut)
        self.legend.set_hues(style.particles)

    # ------------------------------------------------------------ keys

    def set_colorbar(
        self, label_low: str = "low", label_high: str = "high", title: str = ""
    ) -> None:
        """What the heat layer's colour bar says: its title (rich text, e.g.
        "density p<sub>t</sub>(x)")
        and the labels at its ends (the heat is normalised per frame: relative by default)."""
        self.colorbar.set_labels(low=label_low, high=label_high, title=title)

    def show_colorbar(self, on: bool = True) -> None:
        """Allow the colour bar (default); it is drawn only while a heat layer is shown."""
        self._colorbar_on = bool(on)
        self._update_keys()

    def show_legend(self, on: bool = True) -> None:
        """Allow the particle-colour legend (default); drawn only while particles are shown."""
        self._legend_on = bool(on)
        self._update_keys()

    def set_key_size(self, point_size: float | None, room=None) -> None:
        """Text size of the colour bar and legend in points (None: app font, >= 10 pt);
        room: the shares (width, height, area) of the view a key may take (overlays)."""
        self.colorbar.set_point_size(point_size, room)
        self.legend.set_point_size(point_size, room)
        self.place_keys()

    def place_keys(self) -> None:
        """Put the colour bar and the legend each in the corner of the view where it covers
        the fewest data and source points (the colour bar first; on a tie its corner stays,
        then the usual one: colour bar top right, legend bottom left)."""
        box = self.plot.getViewBox()
        w, h = box.width(), box.height()
        if w <= 0 or h <= 0:
            return
        pts = np.concatenate([self.data.positions(), self.source.positions()])
        (x0, x1), (y0, y1) = box.viewRange()
        px = (pts[:, 0] - x0) / max(x1 - x0, 1e-12) * w
        py = (y1 - pts[:, 1]) / max(y1 - y0, 1e-12) * h  # pixels from the top
        taken = []
        for key, usual in ((self.colorbar, (1, 0)), (self.legend, (0, 1))):
            kw, kh = key.size().width() + 8, key.size().height() + 8
            order = [key.corner(), usual, *KEY_CORNERS]
            order = [c for i, c in enumerate(order) if c not in order[:i] and c not in taken]

            def covered(corner, kw=kw, kh=kh) -> int:
                inx = px >= w - kw if corner[0] else px <= kw
                iny = py >= h - kh if corner[1] else py <= kh
                return int(np.count_nonzero(inx & iny))

            best = min(order, key=lambda c: (covered(c), order.index(c)))
            key.set_corner(best)
            taken.append(best)

    def _update_keys(self) -> None:
        bar = self._colorbar_on and self._heat_shown
        if bar != self.colorbar.isVisible():
            self.colorbar.setVisible(bar)
        legend = self._legend_on and self._particles_shown
        if legend != self.legend.isVisible():
            self.legend.setVisible(legend)

    # ------------------------------------------------------------ field

    def set_arrow_mode(self, mode: str) -> None:
        """'length' (arrow length ~ speed), 'colour' (unit arrows coloured by speed),
        'streamlines', or 'off'."""
        if mode not in ARROW_MODES:
            raise ValueError(f"unknown arrow mode {mode!r}")
        self.mode = mode
        self.set_style(self.style)

    def show_frame(self, frame: frames.FieldFrame | None) -> None:
        """Draw a field frame: arrows (per mode, sized by its arrow grid's cell),
        streamlines, heat layer (over its heat grid's rectangle). None clears."""
        if frame is None:
            self.arrows.set_segments(_EMPTY)
            self.heatmap.set_heat(None)
            self.stream.set_segments(_EMPTY)
            self.stream_heads.set_segments(_EMPTY)
            self._heat_shown = False
            self._update_keys()
            return
        cell = frame.arrows.cell
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
        self.stream_heads.set_segments(
            _EMPTY if lines is None else streamline_heads(lines, size=STREAM_HEAD * 2 * self.lim)
        )
        self.heatmap.set_heat(frame.heat, frame.heat_grid.half)
        self._heat_shown = frame.heat is not None
        self._update_keys()

    # ------------------------------------------------------------ particles and data

    def set_particle_starts(self, starts: np.ndarray) -> None:
        """Fix the particle colours: hue by angle of each particle's start position."""
        self._hue_classes = frames.hue_classes(starts) if len(starts) else np.zeros(0, int)
        self.particles.set_colours(
            self.style.particles, self._hue_classes, self.style.particle_edges
        )

    def show_particles(self, pos: np.ndarray, trails: np.ndarray | None = None) -> None:
        self.particles.set_positions(pos)
        self.trails.set_segments(_EMPTY if trails is None else frames.to_pairs(trails))
        self._particles_shown = self.particles.count() > 0
        self._update_keys()

    def show_data(self, points: np.ndarray, source: np.ndarray | None = None) -> None:
        """The target points (N, 2) and, when drawn, the source points (M, 2)."""
        self.data.set_colours([self.style.data], np.zeros(len(points), int))
        self.data.set_positions(points)
        src = np.zeros((0, 2), np.float32) if source is None else source
        self.source.set_colours([self.style.source], np.zeros(len(src), int))
        self.source.set_positions(src)
        self.place_keys()

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
