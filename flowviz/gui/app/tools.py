"""CanvasTools: drawing on the views with the mouse (spray brush, point, eraser, pick z).

Every view is a canvas: the tool filters the left button on each attached plot's
viewport (right drag still zooms, the wheel zooms, the Pick tool's left drag pans). A
stroke is previewed on every view and committed once, on release, as one undoable edit.
The brush sprays `density` points per second of pressing, spread along the path the mouse
took, so the amount does not depend on mouse speed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer, Signal

from flowviz.core import frames

TOOLS = ("pick", "brush", "point", "eraser")
HINTS = {
    "pick": "Pick: click a data point to make it z in the Conditional view; drag to pan.",
    "brush": "Brush: press and move to spray points (radius [ ], density in the tool bar).",
    "point": "Point: each click adds one point.",
    "eraser": "Eraser: press and move to remove points under the circle.",
}
PICK_PIXELS = 12


class CanvasTools(QObject):
    """tool: one of TOOLS; target: "target" or "source" (which point set is drawn);
    radius in data units; density in points per second."""

    stroke_finished = Signal(str, object, object, str)  # which, before, after, label
    tool_changed = Signal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.tool = "brush"
        self.target = "target"
        self.radius = 0.25
        self.density = 300.0
        self._views: dict[QObject, object] = {}
        self._active = None  # the view being drawn on
        self._points: np.ndarray | None = None
        self._before: np.ndarray | None = None
        self._last = self._cursor = None
        self._owed = 0.0
        self._clock = QElapsedTimer()
        self._rng = np.random.default_rng()
        self._tick = QTimer(self, interval=16)
        self._tick.timeout.connect(self._spray)

    def attach(self, view) -> None:
        """Make a PlotView a canvas."""
        viewport = view.plot_widget.viewport()
        self._views[viewport] = view
        viewport.installEventFilter(self)
        viewport.setMouseTracking(True)

    def stroke_size(self) -> int:
        """Points of the edited set including the stroke in progress (0 when idle)."""
        return 0 if self._points is None else len(self._points)

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self.tool = tool
        self.tool_changed.emit(tool)

    # ------------------------------------------------------------ events

    def eventFilter(self, obj, event) -> bool:
        view = self._views.get(obj)
        if view is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            return self._press(view, view.to_data(event.position()))
        if kind == QEvent.Type.MouseMove and self._active is view:
            self._move(view.to_data(event.position()))
            return True
        left_up = (
            kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton
        )
        if left_up and self._active is view:
            self._move(view.to_data(event.position()))
            self._finish()
            return True
        return False

    def _press(self, view, xy: np.ndarray) -> bool:
        if self.tool == "pick":
            self._pick(view, xy)
            return False  # let the plot pan on a drag
        if self.state.path is None:
            return True  # the math core is still loading
        self._active = view
        self._before = self.state.points(self.target)
        self._points = np.array(self._before, np.float32).reshape(-1, 2)
        self._last = self._cursor = xy
        if self.tool == "point":
            self._points = np.concatenate([self._points, xy[None]])
        elif self.tool == "eraser":
            self._erase(xy, xy)
        else:
            self._owed = 1.0  # a click alone leaves a point
            self._clock.start()
            self._spray()
            self._tick.start()
        self._preview()
        return True

    def _move(self, xy: np.ndarray) -> None:
        self._cursor = xy
        if self.tool == "eraser":
            self._erase(self._last, xy)
            self._last = xy
            self._preview()
        elif self.tool == "brush":
            self._spray()

    def _finish(self) -> None:
        self._tick.stop()
        if self.tool == "brush":
            self._spray()
        before, after = self._before, self._points
        self._active = self._points = self._before = None
        if after is not None and len(after) != len(before):
            label = {"brush": "Spray", "point": "Add point", "eraser": "Erase"}[self.tool]
            self.stroke_finished.emit(self.target, before, after, f"{label} ({self.target})")
        else:
            for v in self._views.values():
                v.show_points()

    # ------------------------------------------------------------ tools

    def _spray(self) -> None:
        """Emit the points owed for the time since the last spray, along last -> cursor."""
        if self._points is None:
            return
        self._owed += self.density * self._clock.restart() / 1000.0
        n = int(self._owed)
        if n > 0:
            self._owed -= n
            pts = frames.spray(
                start=self._last, end=self._cursor, count=n, radius=self.radius, rng=self._rng
            )
            self._points = np.concatenate([self._points, pts])
            self._preview()
        self._last = self._cursor

    def _erase(self, a: np.ndarray, b: np.ndarray) -> None:
        """Remove points within radius of the segment a -> b."""
        p = self._points
        ab = b - a
        f = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0, 1)
        d = np.linalg.norm(p - (a + f[:, None] * ab), axis=1)
        self._points = p[d > self.radius]

    def _pick(self, view, xy: np.ndarray) -> None:
        data = self.state.data
        if not len(data):
            return
        d = np.linalg.norm(data - xy, axis=1)
        i = int(np.argmin(d))
        if d[i] <= PICK_PIXELS * view.pixel_size():
            self.state.set_selected(i)

    def _preview(self) -> None:
        s = self.state
        data = self._points if self.target == "target" else s.data
        source = self._points if self.target == "source" else s.source
        for v in self._views.values():
            v.scene.show_data(data, source)
