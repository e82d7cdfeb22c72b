"""Keys drawn over a plot: a colour bar for the heat layer and a legend for particle colours.

Each is parented to the ViewBox (not to its panned and zoomed child group), anchored to a
corner, so it stays put when the camera moves and is part of every exported frame. Its
picture is rendered once into an image when its text or colours change; a repaint is one
drawImage, so keys cost nothing per animation frame. They ignore the mouse: clicks and
hovers reach the plot underneath.

A key is drawn at the text size asked for (the presenter scale, an export's size) only as
far as its view has room: it shrinks to at most MAX_WIDTH of the view's width, MAX_HEIGHT
of its height and MAX_AREA of its area (a flat legend may be wide, a colour bar not),
never below MIN_PIXELS text, so on a small view in presenter mode it leaves the data in
sight. The scene (render.scene) moves each key to the corner where it covers the fewest
data points.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

Colour = tuple[int, int, int, int]
MIN_POINT_SIZE = 10.0  # readable from the back of a room at 1280x720
SMALLEST_POINT_SIZE = 4.0  # what a key in a thumbnail-sized export is drawn at
MIN_PIXELS = 9.0  # the smallest text a key shrinks to, to fit its view
MAX_WIDTH, MAX_HEIGHT, MAX_AREA = 0.45, 0.45, 0.08  # of the view's width, height, area


def key_font(point_size: float | None = None) -> QtGui.QFont:
    """The application font at point_size (never below SMALLEST_POINT_SIZE: Qt sets a
    subscript in a smaller whole point size, which must stay above 0 in a tiny frame), or
    at least MIN_POINT_SIZE."""
    font = QtGui.QFont()
    base = font.pointSizeF() if font.pointSizeF() > 0 else MIN_POINT_SIZE
    size = max(point_size, SMALLEST_POINT_SIZE) if point_size else max(base, MIN_POINT_SIZE)
    font.setPointSizeF(size)
    return font


class _Key(pg.GraphicsWidgetAnchor, pg.GraphicsWidget):
    """A fixed-size picture anchored to a corner of its parent (a ViewBox)."""

    def __init__(self, *, corner: tuple[int, int], offset: tuple[float, float]):
        pg.GraphicsWidget.__init__(self)
        pg.GraphicsWidgetAnchor.__init__(self)
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setFlag(self.GraphicsItemFlag.ItemHasNoContents, False)
        self._corner, self._offset = corner, offset
        self._image: QtGui.QImage | None = None
        self._dpr = 0.0
        self._rect = QtCore.QRectF()
        self._wanted: float | None = None  # the point size asked for (None: the default)
        self._room: tuple[float, float, float] | None = None  # (width, height, area) shares
        self._font = key_font()
        self.foreground: Colour = (30, 32, 38, 255)
        self.background: Colour = (255, 255, 255, 255)

    def attach(self, parent: pg.ViewBox) -> None:
        self.setParentItem(parent)
        self.setZValue(1000)
        parent.geometryChanged.connect(self._on_parent_resized)
        self._relayout()

    def set_colours(self, *, foreground: Colour, background: Colour) -> None:
        self.foreground, self.background = foreground, background
        self._relayout()

    def set_point_size(self, point_size: float | None, room=None) -> None:
        """Text size in points (None: the application font, at least MIN_POINT_SIZE),
        smaller where the view has no room for it. room: the shares (width, height, area)
        of the view the key may take (None: MAX_WIDTH, MAX_HEIGHT, MAX_AREA)."""
        self._wanted = point_size
        self._room = None if room is None else tuple(room)
        self._relayout()

    def corner(self) -> tuple[int, int]:
        """The corner of its view the key sits in: (0 left / 1 right, 0 top / 1 bottom)."""
        return self._corner

    def set_corner(self, corner: tuple[int, int]) -> None:
        """Move to another corner of the view, 8 px in from its edges."""
        corner = (int(corner[0]), int(corner[1]))
        if corner == self._corner:
            return
        self._corner = corner
        self._offset = (8 if corner[0] == 0 else -8, 8 if corner[1] == 0 else -8)
        if self.parentItem() is not None:
            self.anchor(itemPos=corner, parentPos=corner, offset=self._offset)

    def point_size(self) -> float:
        """The text size drawn (the one asked for, or what fits the view)."""
        return self._font.pointSizeF()

    def _on_parent_resized(self) -> None:
        if self._fitted_size() != self._font.pointSizeF():
            self._relayout()

    def _fitted_size(self) -> float:
        """The largest point size up to the one asked for at which the key fits its view
        (MAX_WIDTH, MAX_HEIGHT, MAX_AREA), but not below MIN_PIXELS (or the size asked, if
        smaller)."""
        wanted = key_font(self._wanted).pointSizeF()
        parent = self.parentItem()
        if parent is None:
            return wanted
        view_w, view_h = parent.size().width(), parent.size().height()
        share_w, share_h, share_a = self._room or (MAX_WIDTH, MAX_HEIGHT, MAX_AREA)
        room_w, room_h, room = share_w * view_w, share_h * view_h, share_a * view_w * view_h
        if room <= 0:
            return wanted  # not laid out yet
        screen = QtGui.QGuiApplication.primaryScreen()
        dpi = screen.logicalDotsPerInchY() if screen is not None else 96.0
        floor = min(wanted, MIN_PIXELS * 72.0 / dpi)
        kept, size = self._font, wanted
        try:
            for _ in range(8):  # sizes grow about linearly with the font: a few steps
                self._font = key_font(size)
                w, h = self._measure()
                ratio = min(room_w / w, room_h / h, math.sqrt(room / (w * h)))
                if ratio >= 1 or size <= floor:
                    break
                size = max(floor, round(size * min(ratio, 0.97), 2))
        finally:
            self._font = kept
        return size

    def _relayout(self) -> None:
        """Fit the text to the view, measure (text layout is costly: once per change, never
        per paint) and re-anchor."""
        self._font = key_font(self._fitted_size())
        w, h = self._measure()
        self.prepareGeometryChange()
        self._rect = QtCore.QRectF(0, 0, w, h)
        self.setPreferredSize(w, h)
        self.setMinimumSize(w, h)
        self.setMaximumSize(w, h)
        self.resize(w, h)
        self._image = None
        if self.parentItem() is not None:
            cx, cy = self._corner
            self.anchor(itemPos=(cx, cy), parentPos=(cx, cy), offset=self._offset)
        self.update()

    def _measure(self) -> tuple[float, float]:
        raise NotImplementedError

    def _draw(self, p: QtGui.QPainter, w: float, h: float) -> None:
        raise NotImplementedError

    def image(self, dpr: float = 1.0) -> QtGui.QImage:
        """The key as painted, at device pixel ratio dpr."""
        if self._image is None or self._dpr != dpr:
            w, h = self._rect.width(), self._rect.height()
            img = QtGui.QImage(
                max(1, math.ceil(w * dpr)),
                max(1, math.ceil(h * dpr)),
                QtGui.QImage.Format.Format_ARGB32_Premultiplied,
            )
            img.setDevicePixelRatio(dpr)
            img.fill(QtCore.Qt.GlobalColor.transparent)
            p = QtGui.QPainter(img)
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
            p.setFont(self._font)
            bg = QtGui.QColor(*self.background[:3], 215)
            p.setPen(QtGui.QPen(QtGui.QColor(*self.foreground[:3], 60), 1))
            p.setBrush(bg)
            p.drawRoundedRect(QtCore.QRectF(0.5, 0.5, w - 1, h - 1), 4, 4)
            self._draw(p, w, h)
            p.end()
            self._image, self._dpr = img, dpr
        return self._image

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, painter, *_):
        dev = painter.device()
        dpr = dev.devicePixelRatioF() if dev is not None else 1.0
        painter.drawImage(self.boundingRect(), self.image(dpr))

    def _metrics(self) -> QtGui.QFontMetricsF:
        return QtGui.QFontMetricsF(self._font)

    def _pad(self) -> float:
        """Margin and gaps, in proportion to the text (a shrunk key stays compact)."""
        return round(0.4 * self._metrics().height())

    def _doc(self, html: str) -> QtGui.QTextDocument:
        """Rich text (e.g. p<sub>t</sub>(x)) in the key's font and colour."""
        doc = QtGui.QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultFont(self._font)
        r, g, b = self.foreground[:3]
        doc.setDefaultStyleSheet(f"body {{ color: rgb({r}, {g}, {b}); }}")
        doc.setHtml(f"<body>{html}</body>")
        return doc

    def _text_width(self, html: str) -> float:
        return self._doc(html).idealWidth() if html else 0.0

    def _draw_text(self, p: QtGui.QPainter, x: float, y: float, html: str) -> None:
        p.save()
        p.translate(x, y)
        self._doc(html).drawContents(p)
        p.restore()


class ColourBar(_Key):
    """A vertical gradient of the heat layer's lookup table with a title and the labels at
    its two ends (the heat is normalised per frame, so its ends are relative: low / high)."""

    def __init__(self, lut: np.ndarray, *, corner=(1, 0), offset=(-8, 8)):
        super().__init__(corner=corner, offset=offset)
        self.title, self.low, self.high = "", "low", "high"
        self._lut = np.asarray(lut, np.ubyte)
        self._relayout()

    def set_lut(self, lut: np.ndarray) -> None:
        self._lut = np.asarray(lut, np.ubyte)
        self._relayout()

    def set_labels(self, *, low: str = "low", high: str = "high", title: str = "") -> None:
        """Rich text: the low and high ends, and a title above the bar (none if empty)."""
        self.low, self.high, self.title = low, high, title
        self._relayout()

    def labels(self) -> tuple[str, str, str]:
        """(title, high, low) as drawn."""
        return self.title, self.high, self.low

    def _geometry(self) -> tuple[float, float, float, float]:
        """(text line height, bar width, bar height, overall width)."""
        fm = self._metrics()
        line = fm.height()
        bar_w, bar_h = 0.9 * line, 5.0 * line
        text_w = max(self._text_width(self.low), self._text_width(self.high))
        pad = self._pad()
        width = max(bar_w + pad + text_w, self._text_width(self.title)) + 2 * pad
        return line, bar_w, bar_h, width

    def _measure(self):
        line, _, bar_h, width = self._geometry()
        title_h = line + 2 if self.title else 0.0
        return math.ceil(width), math.ceil(title_h + bar_h + 2 * self._pad())

    def _draw(self, p, w, h):
        line, bar_w, bar_h, _ = self._geometry()
        pad = self._pad()
        fg = QtGui.QColor(*self.foreground[:3])
        top = pad
        if self.title:
            self._draw_text(p, pad, top, self.title)
            top += line + 2
        rgb = np.ascontiguousarray(self._lut[::-1, :3])  # top of the bar = high
        strip = np.empty((len(rgb), 1, 4), np.ubyte)
        strip[:, 0, 0], strip[:, 0, 1], strip[:, 0, 2] = rgb[:, 2], rgb[:, 1], rgb[:, 0]
        strip[:, 0, 3] = 255
        raw = strip.tobytes()
        grad = QtGui.QImage(raw, 1, len(rgb), 4, QtGui.QImage.Format.Format_RGB32)
        bar = QtCore.QRectF(pad, top, bar_w, bar_h)
        p.drawImage(bar, grad.copy())
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.setPen(QtGui.QPen(fg, 1))
        p.drawRect(bar)
        x = pad + bar_w + pad
        self._draw_text(p, x, top - 2, self.high)
        self._draw_text(p, x, top + bar_h - line + 2, self.low)


class ParticleLegend(_Key):
    """A hue wheel and its meaning: a particle's colour is the direction of its start point
    from the centre of all start points (frames.hue_classes), so neighbours share a colour."""

    LINES = ("colour = where the", "particle started")

    def __init__(self, hues: list[Colour], *, corner=(0, 1), offset=(8, -8)):
        super().__init__(corner=corner, offset=offset)
        self._hues = list(hues)
        self._relayout()

    def set_hues(self, hues: list[Colour]) -> None:
        self._hues = list(hues)
        self._relayout()

    def text(self) -> str:
        return " ".join(self.LINES)

    def _measure(self):
        line, pad = self._metrics().height(), self._pad()
        text_w = max(self._text_width(s) for s in self.LINES)
        return math.ceil(2 * line + 3 * pad + text_w), math.ceil(2 * line + 2 * pad)

    def _draw(self, p, w, h):
        line, pad = self._metrics().height(), self._pad()
        wheel = QtCore.QRectF(pad, pad, 2 * line, 2 * line)
        k = len(self._hues)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        for i, c in enumerate(self._hues):
            # hue_classes: class i covers angles -180° + 360° i / k onwards, counterclockwise
            p.setBrush(QtGui.QColor(*c[:3]))
            p.drawPie(wheel, round((-180 + 360 * i / k) * 16), math.ceil(360 / k * 16))
        p.setBrush(QtGui.QColor(*self.background[:3]))
        inner = 0.28 * wheel.width()
        p.drawEllipse(wheel.center(), inner, inner)
        x = pad + wheel.width() + pad
        for j, text in enumerate(self.LINES):
            self._draw_text(p, x, pad + j * line, text)
