"""One camera for every view: a centre and a half-width, not linked axis ranges.

Linked axis ranges make aspect-locked views of different shapes push each other's ranges
apart whenever the layout changes (a view hidden or shown, a splitter dragged). Here each
view shows the same square [c - h, c + h]^2, fitted to its own shape; panning or zooming
any view moves the camera, and a resized view refits itself.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject


class Camera(QObject):
    """centre (x, y) and half-width h in data units, shared by the attached ViewBoxes."""

    def __init__(self, half: float, parent=None):
        super().__init__(parent)
        self.home = half
        self.center = (0.0, 0.0)
        self.half = half
        self._boxes: list[pg.ViewBox] = []
        self._applying = False

    def attach(self, box: pg.ViewBox) -> None:
        self._boxes.append(box)
        box.sigRangeChangedManually.connect(lambda _mask: self._on_moved(box))
        box.sigResized.connect(lambda _box: self._fit(box))
        self._fit(box)

    def reset(self) -> None:
        """Back to [-home, home]^2 around the origin."""
        self.set(center=(0.0, 0.0), half=self.home)

    def set(self, *, center: tuple[float, float], half: float) -> None:
        self.center, self.half = (float(center[0]), float(center[1])), float(half)
        for box in self._boxes:
            self._fit(box)

    def _on_moved(self, box: pg.ViewBox) -> None:
        """A user panned or zoomed box: it now defines the camera."""
        if self._applying:
            return
        (x0, x1), (y0, y1) = box.viewRange()
        self.center = ((x0 + x1) / 2, (y0 + y1) / 2)
        self.half = min(x1 - x0, y1 - y0) / 2
        for other in self._boxes:
            if other is not box:
                self._fit(other)

    def _fit(self, box: pg.ViewBox) -> None:
        (cx, cy), h = self.center, self.half
        self._applying = True
        try:
            box.setRange(xRange=(cx - h, cx + h), yRange=(cy - h, cy + h), padding=0)
        finally:
            self._applying = False
