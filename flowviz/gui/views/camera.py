"""One camera for every view: a centre and a half-width, not linked axis ranges.

Linked axis ranges make aspect-locked views of different shapes push each other's ranges
apart whenever the layout changes (a view hidden or shown, a row become a grid). Here each
view shows the same square [c - h, c + h]^2, fitted to its own shape; panning or zooming
any view moves the camera, and a resized view refits itself.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject

from flowviz.render.canvas import fit_camera
from flowviz.session import Camera as SessionCamera


class Camera(QObject):
    """Fits the attached ViewBoxes to the Session's camera (centre, half-width), and makes
    a user's pan or zoom in any of them the Session's camera."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self._boxes: list[pg.ViewBox] = []
        self._applying = False
        state.camera_changed.connect(self._fit_all)

    @property
    def center(self) -> tuple[float, float]:
        return self.state.session.camera.center

    @property
    def half(self) -> float:
        return self.state.session.camera.half

    def attach(self, box: pg.ViewBox) -> None:
        self._boxes.append(box)
        box.sigRangeChangedManually.connect(lambda _mask: self._on_moved(box))
        box.sigResized.connect(lambda _box: self._fit(box))
        self._fit(box)

    def reset(self) -> None:
        """Back to the default square around the origin."""
        self.state.update(camera=SessionCamera())

    def set(self, *, center: tuple[float, float], half: float) -> None:
        self.state.update(camera=SessionCamera(center=center, half=half))

    def _on_moved(self, box: pg.ViewBox) -> None:
        """A user panned or zoomed box: it now defines the camera."""
        if self._applying:
            return
        (x0, x1), (y0, y1) = box.viewRange()
        center = ((x0 + x1) / 2, (y0 + y1) / 2)
        self.set(center=center, half=min(x1 - x0, y1 - y0) / 2)

    def _fit_all(self) -> None:
        for box in self._boxes:
            self._fit(box)

    def _fit(self, box: pg.ViewBox) -> None:
        self._applying = True
        try:
            fit_camera(box, self.center, self.half)
        finally:
            self._applying = False
