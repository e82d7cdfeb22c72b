"""Light pyqtgraph items for large, fast-changing frames.

Created once, then fed new arrays every frame: a point cloud painted with drawPointsNp in
colour groups (pyqtgraph's ScatterPlotItem costs ~18 ms at 10k points), an arrow field as a
few drawLines calls (one per colour), and a float32 heatmap with fixed levels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui
from pyqtgraph.Qt.internals import PrimitiveArray

Colour = tuple[int, int, int, int]


class PointCloud(pg.GraphicsObject):
    """Many points in a few colours, painted as square cosmetic-pen points (no antialias,
    the fast raster path). Points of colour g are rows groups == g."""

    def __init__(self, *, size: float = 3.0):
        super().__init__()
        self._x = self._y = np.zeros(0)
        self._slices: list[tuple[QtGui.QPen, slice]] = []
        self._pens: list[QtGui.QPen] = []
        self._order = np.zeros(0, np.int64)
        self._rect = QtCore.QRectF()
        self._size = size

    def set_colours(self, colours: list[Colour], groups: np.ndarray) -> None:
        """Fix each point's colour class for the following set_positions calls."""
        groups = np.asarray(groups)
        self._order = np.argsort(groups, kind="stable")
        counts = np.bincount(groups, minlength=len(colours))
        ends = np.cumsum(counts)
        self._pens = [self._pen(c) for c in colours]
        self._slices = [
            (self._pens[g], slice(int(ends[g] - counts[g]), int(ends[g])))
            for g in range(len(colours))
            if counts[g]
        ]

    def set_size(self, size: float) -> None:
        self._size = size
        for pen in self._pens:
            pen.setWidthF(size)
        self.update()

    def _pen(self, colour: Colour) -> QtGui.QPen:
        pen = QtGui.QPen(QtGui.QColor(*colour))
        pen.setCosmetic(True)
        pen.setWidthF(self._size)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.SquareCap)
        return pen

    def set_positions(self, pos: np.ndarray) -> None:
        """pos (n, 2), n matching the groups given to set_colours (or empty)."""
        self.prepareGeometryChange()
        if len(pos) == 0 or len(pos) != len(self._order):
            self._x = self._y = np.zeros(0)
            self._rect = QtCore.QRectF()
        else:
            p = pos[self._order]
            self._x = np.ascontiguousarray(p[:, 0], np.float64)
            self._y = np.ascontiguousarray(p[:, 1], np.float64)
            finite = np.isfinite(self._x) & np.isfinite(self._y)
            if finite.any():
                lo_x, hi_x = self._x[finite].min(), self._x[finite].max()
                lo_y, hi_y = self._y[finite].min(), self._y[finite].max()
                self._rect = QtCore.QRectF(lo_x, lo_y, hi_x - lo_x, hi_y - lo_y)
        self.update()

    def positions(self) -> np.ndarray:
        """The drawn positions in the caller's original order, (n, 2)."""
        out = np.empty((len(self._x), 2), np.float32)
        out[self._order[: len(self._x)], 0] = self._x
        out[self._order[: len(self._x)], 1] = self._y
        return out

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect.adjusted(-0.05, -0.05, 0.05, 0.05)

    def paint(self, painter, *_):
        if not len(self._x):
            return
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for pen, sl in self._slices:
            painter.setPen(pen)
            painter.drawPointsNp(self._x[sl], self._y[sl])


class Segments(pg.GraphicsObject):
    """Line segments (2m, 2) drawn with one QPainter.drawLines call from a contiguous
    QLineF buffer (no per-segment Python objects, no pyqtgraph curve bookkeeping)."""

    def __init__(self, *, width: float = 1.0, antialias: bool = True, parent=None):
        super().__init__(parent)
        self._lines = PrimitiveArray(QtCore.QLineF, 4)
        self._rows = np.zeros((0, 2), np.float32)
        self._rect = QtCore.QRectF()
        self._pen = pg.mkPen((0, 0, 0), width=width)
        self._antialias = antialias

    def set_colour(self, colour: Colour) -> None:
        self._pen = pg.mkPen(colour, width=self._pen.widthF())
        self.update()

    def set_segments(self, rows: np.ndarray) -> None:
        """rows (2m, 2): segment k runs from rows[2k] to rows[2k + 1]; NaN rows are dropped
        pairwise."""
        rows = np.asarray(rows, np.float64).reshape(-1, 4)
        rows = rows[np.isfinite(rows).all(1)]
        self.prepareGeometryChange()
        self._lines.resize(len(rows))
        if len(rows):
            self._lines.ndarray()[:] = rows
            pts = rows.reshape(-1, 2)
            lo, hi = pts.min(0), pts.max(0)
            self._rect = QtCore.QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
        else:
            self._rect = QtCore.QRectF()
        self._rows = rows.reshape(-1, 2).astype(np.float32)
        self.update()

    def segments(self) -> np.ndarray:
        """The drawn rows (2m, 2)."""
        return self._rows

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect.adjusted(-0.05, -0.05, 0.05, 0.05)

    def paint(self, painter, *_):
        if len(self._rows):
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, self._antialias)
            painter.setPen(self._pen)
            painter.drawLines(*self._lines.drawargs())


class ArrowField(pg.GraphicsObject):
    """Arrows as segment pairs, one Segments item per colour class."""

    def __init__(self, *, classes: int = 1, width: float = 1.3):
        super().__init__()
        self.parts = [Segments(width=width, parent=self) for _ in range(classes)]

    def set_colours(self, colours: list[Colour]) -> None:
        for part, c in zip(self.parts, colours, strict=True):
            part.set_colour(c)

    def set_segments(self, segments: np.ndarray, classes: np.ndarray | None = None) -> None:
        """segments (6m, 2) from frames.arrow_segments; classes (m,) colour class or None
        (everything in the first colour)."""
        empty = np.zeros((0, 2), np.float32)
        if classes is None:
            self.parts[0].set_segments(segments)
            for part in self.parts[1:]:
                part.set_segments(empty)
            return
        per_arrow = segments.reshape(-1, 6, 2)
        for k, part in enumerate(self.parts):
            part.set_segments(per_arrow[classes == k].reshape(-1, 2))

    def segments(self) -> np.ndarray:
        """All drawn segment rows, (6m, 2) (grouped by colour class when coloured)."""
        return np.concatenate([p.segments() for p in self.parts])

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF()

    def paint(self, *_):
        pass


class Heatmap(pg.ImageItem):
    """A float32 image in [0, 1] over [-lim, lim]^2 with fixed levels and a 256-entry LUT."""

    def __init__(self, *, lim: float, lut: np.ndarray):
        super().__init__()
        self._lim = lim
        self.setLookupTable(lut)
        self.setZValue(-10)

    def set_lut(self, lut: np.ndarray) -> None:
        self.setLookupTable(lut)

    def set_heat(self, img: np.ndarray | None) -> None:
        """img (r, r) indexed [iy, ix] with iy = 0 at the bottom; None hides the layer."""
        if img is None:
            self.setVisible(False)
            return
        self.setImage(img, levels=(0.0, 1.0), autoLevels=False, axisOrder="row-major")
        r = self._lim
        self.setRect(QtCore.QRectF(-r, -r, 2 * r, 2 * r))
        self.setVisible(True)
