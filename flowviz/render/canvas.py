"""The plot a view draws on, made one way for the window and for export.

make_plot builds the pyqtgraph PlotWidget every view uses (square data region, aspect
locked, no buttons or menu); Canvas is one such plot off screen, of a given size, that
draws ViewFrames and paints them into an image. The window's views and the exporter both
go through make_plot, FieldScene and FrameDrawer, so an exported frame is the picture the
window shows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene, QWidget

from flowviz.core.frames import LIM, ViewFrame, view_extent
from flowviz.render.picture import FrameDrawer
from flowviz.render.scene import FieldScene
from flowviz.render.style import Style


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
    return widget


def fit_camera(box: pg.ViewBox, center: tuple[float, float], half: float) -> None:
    """Show the square [c - h, c + h]^2 in box, fitted to its shape (the Session's camera)."""
    cx, cy = center
    box.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)


class Canvas:
    """One plot off screen, width x height pixels (needs a QApplication)."""

    def __init__(self, style: Style, width: int, height: int):
        self.widget = make_plot(style)
        self.widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.widget.resize(width, height)
        self.widget.show()  # laid out and painted, never on a screen
        self.plot = self.widget.getPlotItem()
        self.scene = FieldScene(self.plot, style)
        self.drawer = FrameDrawer(self.scene)

    def extent(self) -> tuple[float, float]:
        """The half-widths a picture's grids cover to fill this plot (frames.view_extent of
        its data region's pixel size, as a window's view of this size has)."""
        box = self.plot.getViewBox()
        return view_extent(box.width(), box.height())

    def draw(self, frame: ViewFrame | None, *, center=(0.0, 0.0), half: float = LIM) -> None:
        fit_camera(self.plot.getViewBox(), center, half)
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


def to_array(img: QImage) -> np.ndarray:
    """An image as (h, w, 3) uint8 RGB."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()  # the QImage owns buf: copy it out
