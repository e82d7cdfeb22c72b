"""Light pyqtgraph items for large, fast-changing frames.

Created once, then fed new arrays every frame: a point cloud of round sprites painted with one
drawPixmapFragments call (pyqtgraph's ScatterPlotItem costs ~18 ms at 10k points), an arrow
field as a few drawLines calls (one per colour), and a float32 heatmap with fixed levels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui
from pyqtgraph.Qt.internals import PrimitiveArray

Colour = tuple[int, int, int, int]


class PointCloud(pg.GraphicsObject):
    """Many round markers in a few colours, drawn with one drawPixmapFragments call from a
    sprite atlas (one antialiased disc per colour, optionally outlined). Sprites cost about
    half of square cosmetic-pen points and a quarter of round-cap points (which Qt strokes
    one by one). size is the disc diameter in screen pixels. Point i has colour groups[i]."""

    def __init__(self, *, size: float = 3.0, outline: float = 0.0):
        super().__init__()
        self._pos = np.zeros((0, 2), np.float32)
        self._groups = np.zeros(0, np.int64)
        self._colours: list[Colour] = []
        self._edges: list[Colour] | None = None
        self._size = float(size)
        self._outline = float(outline)
        self._finite = True
        self._rect = QtCore.QRectF()
        self._frags = PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        self._atlas: QtGui.QPixmap | None = None
        self._atlas_key: tuple | None = None
        self._frags_key: tuple | None = None

    def set_colours(
        self, colours: list[Colour], groups: np.ndarray, edges: list[Colour] | None = None
    ) -> None:
        """Fix each point's colour class for the following set_positions calls; edges: an
        outline colour per class (drawn when the cloud has an outline width)."""
        colours = [tuple(c) for c in colours]
        edges = None if edges is None else [tuple(c) for c in edges]
        if colours != self._colours or edges != self._edges:
            self._colours, self._edges = colours, edges
            self._atlas_key = None
        self._groups = np.asarray(groups, np.int64)
        self._frags_key = None
        if len(self._pos) != len(self._groups):
            self._set(np.zeros((0, 2), np.float32))
        self.update()

    def set_size(self, size: float, outline: float | None = None) -> None:
        """Disc diameter (and outline width) in screen pixels."""
        self.prepareGeometryChange()
        self._size = float(size)
        if outline is not None:
            self._outline = float(outline)
        self._atlas_key = None
        self.update()

    def size(self) -> float:
        return self._size

    def set_positions(self, pos: np.ndarray) -> None:
        """pos (n, 2), n matching the groups given to set_colours (or empty)."""
        if len(pos) == 0 or len(pos) != len(self._groups):
            self._set(np.zeros((0, 2), np.float32))
        else:
            self._set(np.array(pos, np.float32))  # a copy: the caller may reuse its array
        self.update()

    def _set(self, pos: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._pos = pos
        self._rect = QtCore.QRectF()
        if not len(pos):
            self._finite = True
            return
        lo, hi = pos.min(0), pos.max(0)  # NaN propagates: then look at the finite rows
        self._finite = bool(np.isfinite(lo).all() and np.isfinite(hi).all())
        if not self._finite:
            finite = np.isfinite(pos).all(1)
            if not finite.any():
                return
            lo, hi = pos[finite].min(0), pos[finite].max(0)
        lo, hi = lo.astype(float), hi.astype(float)
        self._rect = QtCore.QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])

    def count(self) -> int:
        """How many points are drawn."""
        return len(self._pos)

    def positions(self) -> np.ndarray:
        """The drawn positions in the caller's order, (n, 2)."""
        return self._pos.copy()

    def sprite(self, group: int = 0) -> QtGui.QImage:
        """The marker of colour class group as drawn at device pixel ratio 1 (for tests)."""
        return self._atlas_image(1.0).copy(self._cell(1.0) * group, 0, *[self._cell(1.0)] * 2)

    def boundingRect(self) -> QtCore.QRectF:
        if self._rect.isNull() and not len(self._pos):
            return QtCore.QRectF()
        px = max(self.pixelWidth(), self.pixelHeight())
        pad = (0.5 * self._size + 2.0) * px if px > 0 else 0.1
        return self._rect.adjusted(-pad, -pad, pad, pad)

    def _cell(self, dpr: float) -> int:
        return int(np.ceil((self._size + 2.0) * dpr))

    def _atlas_image(self, dpr: float) -> QtGui.QImage:
        cell = self._cell(dpr)
        img = QtGui.QImage(cell * max(len(self._colours), 1), cell, _ARGB)
        img.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(img)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        edge = self._outline * dpr
        d = self._size * dpr - edge  # the outline's centre line: outer diameter = size
        for k, colour in enumerate(self._colours):
            p.setBrush(QtGui.QColor(*colour))
            if edge > 0 and self._edges is not None:
                p.setPen(QtGui.QPen(QtGui.QColor(*self._edges[k]), edge))
            else:
                p.setPen(QtCore.Qt.PenStyle.NoPen)
                d = self._size * dpr
            c = k * cell + 0.5 * cell
            p.drawEllipse(QtCore.QPointF(c, 0.5 * cell), 0.5 * d, 0.5 * d)
        p.end()
        return img

    def paint(self, painter, *_):
        n = len(self._pos)
        if not n or not self._colours:
            return
        dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        key = (dpr, self._size, self._outline)
        if self._atlas_key != key:
            self._atlas = QtGui.QPixmap.fromImage(self._atlas_image(dpr))
            self._atlas_key, self._frags_key = key, None
        frags = self._frags
        if self._frags_key != key or len(frags) != n:
            cell = self._cell(dpr)
            frags.resize(n)
            a = frags.ndarray()
            a[:, 2] = np.clip(self._groups, 0, len(self._colours) - 1) * cell  # sourceLeft
            a[:, 3] = 0.0  # sourceTop
            a[:, 4:6] = cell  # width, height (atlas pixels)
            a[:, 6:8] = 1.0 / dpr  # scale: atlas pixels -> logical pixels
            a[:, 8] = 0.0  # rotation
            a[:, 9] = 1.0  # opacity
            self._frags_key = key
        a = frags.ndarray()
        tr = painter.transform()
        x, y = self._pos[:, 0], self._pos[:, 1]
        with np.errstate(invalid="ignore", over="ignore"):  # inf * 0: NaN, dropped next
            a[:, 0] = tr.m11() * x + tr.m21() * y + tr.dx()
            a[:, 1] = tr.m12() * x + tr.m22() * y + tr.dy()
        if not self._finite:  # off screen, where Qt culls it
            np.nan_to_num(a[:, :2], copy=False, nan=-1e6, posinf=-1e6, neginf=-1e6)
        painter.save()
        painter.resetTransform()
        painter.drawPixmapFragments(*frags.drawargs(), self._atlas)
        painter.restore()


_ARGB = QtGui.QImage.Format.Format_ARGB32_Premultiplied


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
    """A float32 image in [0, 1] over a rectangle centred on the origin, with fixed levels
    and a 256-entry LUT."""

    def __init__(self, *, lut: np.ndarray):
        super().__init__()
        self.setLookupTable(lut)
        self.setZValue(-10)

    def set_lut(self, lut: np.ndarray) -> None:
        self.setLookupTable(lut)

    def set_heat(self, img: np.ndarray | None, half: tuple[float, float] = (0.0, 0.0)) -> None:
        """img (ny, nx) indexed [iy, ix] with iy = 0 at the bottom, covering the half-widths
        half (x, y); None hides the layer."""
        if img is None:
            self.setVisible(False)
            return
        self.setImage(img, levels=(0.0, 1.0), autoLevels=False, axisOrder="row-major")
        hx, hy = half
        self.setRect(QtCore.QRectF(-hx, -hy, 2 * hx, 2 * hy))
        self.setVisible(True)
