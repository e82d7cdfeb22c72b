"""ViewArea: the shown views in rows and columns, cells near square.

Every view shows a square region of the plane, so side-by-side strips at 16:9 leave the
data in their middle third. The arrangement is core.layout.arrange of the number of shown
views, this widget's shape and the Session's layout choice: the rule an export uses too.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QGridLayout, QWidget

from flowviz.core.layout import arrange

#: Events that change which views are shown (sent when a view is shown or hidden itself,
#: not when the whole window is).
_SHOWN = (QEvent.Type.ShowToParent, QEvent.Type.HideToParent)


class ViewArea(QWidget):
    """Holds the views (add) and places the shown ones in the grid arrange() gives for the
    choice (set_choice); re-arranges when resized and when a view is shown or hidden."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._views: list[QWidget] = []
        self._choice = "auto"
        self._placed: tuple | None = None  # (rows, cols, shown views) in the grid now
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)

    def add(self, view: QWidget) -> None:
        view.setParent(self)
        view.installEventFilter(self)
        self._views.append(view)
        self._arrange()

    def set_choice(self, choice: str) -> None:
        """A core.layout choice: auto, row or grid."""
        self._choice = choice
        self._arrange()

    def arrangement(self) -> tuple[int, int]:
        """(rows, cols) the shown views are placed in now."""
        return self._placed[:2] if self._placed else (1, 1)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() in _SHOWN:
            self._arrange()
        return False

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Place the shown views row by row; each spans two half-columns, so a last row
        with fewer views is centred (three views in a 2 x 2 grid: two above, one below)."""
        shown = [v for v in self._views if not v.isHidden()]
        rows, cols = arrange(len(shown), self.width(), self.height(), self._choice)
        placed = (rows, cols, tuple(shown))
        if placed == self._placed:
            return
        self._placed = placed
        for view in self._views:
            self._grid.removeWidget(view)
        for i, view in enumerate(shown):
            row, col = divmod(i, cols)
            offset = cols - min(cols, len(shown) - row * cols)
            self._grid.addWidget(view, row, offset + 2 * col, 1, 2)
        for c in range(self._grid.columnCount()):
            self._grid.setColumnStretch(c, 1 if c < 2 * cols else 0)
        for r in range(self._grid.rowCount()):
            self._grid.setRowStretch(r, 1 if r < rows else 0)
