"""PlotView: a titled pyqtgraph plot with a FieldScene and its FrameDrawer, the base of
every view panel. It tracks its extent (the half-widths its data region shows, from the
region's pixel shape) so its picture's field grids fill the view, not a central square."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from flowviz.core.frames import LIM, view_extent
from flowviz.render.canvas import make_plot
from flowviz.render.picture import FrameDrawer
from flowviz.render.scene import FieldScene
from flowviz.render.style import Style

#: Milliseconds a resize must rest before the view's picture is remade for its new shape
#: (dragging a window edge remakes it once, not on every pixel).
EXTENT_DELAY_MS = 150


class PlotView(QWidget):
    """Title + square plot (render.canvas.make_plot); scene holds the drawn items.

    extent: the half-widths (x, y) the view's picture covers (frames.view_extent of the
    data region); extent_changed is emitted when a resize has rested and changed it, and a
    subclass then remakes its picture."""

    extent_changed = Signal()

    def __init__(self, state, title: str, style: Style, parent=None):
        super().__init__(parent)
        self.state = state
        self.extent: tuple[float, float] = (LIM, LIM)
        self.title = QLabel(title)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)  # a narrow view wraps its title rather than cut it
        self.plot_widget = make_plot(style)  # as the exporter's Canvas makes it
        self.plot_widget.setMinimumSize(180, 180)  # three views and a dock fit 1024 px
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.scene = FieldScene(self.plot, style)
        self.drawer = FrameDrawer(self.scene)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        self._extent_timer = QTimer(self, singleShot=True, interval=EXTENT_DELAY_MS)
        self._extent_timer.timeout.connect(self._update_extent)
        self.viewbox.sigResized.connect(lambda _box: self._extent_timer.start())

    def busy(self) -> bool:
        """A resize is about to remake the picture for the view's new shape."""
        return self._extent_timer.isActive()

    def _update_extent(self) -> None:
        extent = view_extent(self.viewbox.width(), self.viewbox.height())
        if extent != self.extent:
            self.extent = extent
            self.extent_changed.emit()

    @property
    def viewbox(self) -> pg.ViewBox:
        return self.plot.getViewBox()

    def set_style(self, style: Style) -> None:
        self.plot_widget.setBackground(style.background)
        self.scene.set_style(style)
        self.drawer.reset()

    def to_data(self, pos) -> np.ndarray:
        """A viewport pixel position -> data coordinates (2,)."""
        p = self.viewbox.mapSceneToView(self.plot_widget.mapToScene(pos.toPoint()))
        return np.array([p.x(), p.y()], np.float32)

    def to_pixel(self, xy) -> QPointF:
        """Data coordinates -> viewport pixel position (what a test clicks on)."""
        scene_pt = self.viewbox.mapViewToScene(QPointF(float(xy[0]), float(xy[1])))
        return QPointF(self.plot_widget.mapFromScene(scene_pt))

    def pixel_size(self) -> float:
        """Data units per screen pixel (for pick radii)."""
        w = max(self.viewbox.width(), 1.0)
        (x0, x1), _ = self.viewbox.viewRange()
        return (x1 - x0) / w

    def show_points(self) -> None:
        """Redraw the data (and drawn source) points from the state."""
        show = self.state.display.show_data
        self.scene.show_data(
            self.state.data if show else np.zeros((0, 2), np.float32),
            self.state.source if show else None,
        )

    def shutdown(self) -> None:
        """Stop owned background work (the window calls it on close)."""
