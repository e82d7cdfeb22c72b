"""The plot a view draws on, made one way for the window and for export.

make_plot builds the pyqtgraph PlotWidget every view uses (aspect locked, no buttons or
menu); Canvas is one such plot off screen, of a given size, that shows a region of the
plane, draws ViewFrames and paints them into an image. The window's views and the exporter
both go through make_plot, FieldScene and FrameDrawer, so an exported frame is the picture
the window shows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QGuiApplication, QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene, QWidget

from flowviz.core.frames import LIM, ViewFrame
from flowviz.render.picture import FrameDrawer
from flowviz.render.scene import FieldScene
from flowviz.render.style import Style

#: Tick labels: the longest text the left axis makes room for.
WIDEST_TICK = "-10"


def make_plot(style: Style) -> pg.PlotWidget:
    """A view's plot over [-LIM, LIM]^2 with the style's background."""
    widget = pg.PlotWidget()
    # Items change every frame: a BSP index would be rebuilt each time for nothing.
    widget.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
    plot = widget.getPlotItem()
    plot.setAspectLocked(True)
    plot.setRange(xRange=(-LIM, LIM), yRange=(-LIM, LIM), padding=0)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    widget.setBackground(style.background)
    set_tick_size(plot, None)
    return widget


def fit_camera(box: pg.ViewBox, center: tuple[float, float], half: float) -> None:
    """Show the square [c - h, c + h]^2 in box, fitted to its shape (the Session's camera)."""
    cx, cy = center
    fit_region(box, (cx - half, cx + half, cy - half, cy + half))


def fit_region(box: pg.ViewBox, region) -> None:
    """Show the rectangle (x0, x1, y0, y1) in box, fitted to its shape (aspect locked: the
    longer side shows more)."""
    x0, x1, y0, y1 = region
    box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)


def shown_region(region, width: float, height: float) -> tuple[float, float, float, float]:
    """The rectangle (x0, x1, y0, y1) a width x height pixel plot shows when region is
    fitted into it with square pixels (centred; the longer side shows more)."""
    x0, x1, y0, y1 = (float(v) for v in region)
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    if width <= 0 or height <= 0:
        return (x0, x1, y0, y1)
    a = width / height
    if hx / hy < a:
        hx = hy * a
    else:
        hy = hx / a
    return (cx - hx, cx + hx, cy - hy, cy + hy)


def origin_extent(region) -> tuple[float, float]:
    """Half-widths about the origin that cover the rectangle (x0, x1, y0, y1): what a
    picture's grids (centred on the origin) must cover to fill it."""
    x0, x1, y0, y1 = region
    return (max(abs(x0), abs(x1)), max(abs(y0), abs(y1)))


class Canvas:
    """One plot off screen, width x height pixels (needs a QApplication). text_px: tick
    label size in pixels (None: the application font, as the window's views)."""

    def __init__(self, style: Style, width: int, height: int, *, text_px: float | None = None):
        self.widget = make_plot(style)
        self.widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.plot = self.widget.getPlotItem()
        if text_px is not None:
            set_tick_size(self.plot, text_px)
        self.widget.resize(width, height)
        self.widget.show()  # laid out and painted, never on a screen
        self.scene = FieldScene(self.plot, style)
        self.drawer = FrameDrawer(self.scene)
        self._region = (-LIM, LIM, -LIM, LIM)

    @staticmethod
    def dpi() -> float:
        screen = QGuiApplication.primaryScreen()
        return screen.logicalDotsPerInchY() if screen is not None else 96.0

    def set_region(self, region) -> None:
        """Show the rectangle (x0, x1, y0, y1), fitted to the plot's shape."""
        self._region = tuple(float(v) for v in region)
        fit_region(self.plot.getViewBox(), self._region)

    def shown(self) -> tuple[float, float, float, float]:
        """The rectangle the plot shows (its region fitted to its data area)."""
        box = self.plot.getViewBox()
        return shown_region(self._region, box.width(), box.height())

    def extent(self) -> tuple[float, float]:
        """The half-widths about the origin a picture's grids cover to fill this plot (for
        the default region: frames.view_extent of its data area, as a window's view of this
        size has)."""
        return origin_extent(self.shown())

    def draw(self, frame: ViewFrame | None) -> None:
        self.drawer.draw(frame)

    def paint(self, painter: QPainter, x: int, y: int) -> None:
        """Paint the plot with its top-left corner at (x, y) of painter's device, as the
        widget paints itself on screen (QGraphicsView.render would rescale the scene)."""
        QWidget.render(self.widget, painter, QPoint(x, y))

    def image(self) -> QImage:
        """The plot as an RGB image of the canvas's size."""
        img = QImage(self.widget.size(), QImage.Format.Format_RGB888)
        painter = QPainter(img)
        self.paint(painter, 0, 0)
        painter.end()
        return img

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()


def set_tick_size(plot: pg.PlotItem, px: float | None) -> None:
    """Tick labels of px pixels (None: the application font), and axes of a fixed size
    that makes room for them: an axis that grows with its widest label so far would make
    two plots of one size differ with their histories (the window's and an export's)."""
    font = QFont()
    if px is not None:
        font.setPixelSize(max(6, round(px)))
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setStyle(tickTextOffset=max(2, round(0.3 * px)))
            axis.setTickFont(font)
    fm = QFontMetricsF(font)
    offset = plot.getAxis("left").style["tickTextOffset"][0]
    plot.getAxis("left").setWidth(round(fm.horizontalAdvance(WIDEST_TICK) + offset + 2))
    plot.getAxis("bottom").setHeight(round(fm.height() + offset + 2))


def to_array(img: QImage) -> np.ndarray:
    """An image as (h, w, 3) uint8 RGB."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()  # the QImage owns buf: copy it out
