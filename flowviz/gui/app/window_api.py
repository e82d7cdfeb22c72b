"""WindowSeams: what a window offers the panels and controllers installed on it.

The training controller (and later lessons or export) codes against this protocol, never
against MainWindow, so nothing in the package imports the window but the code that starts
the app: no import circles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from PySide6.QtCore import Qt, SignalInstance
    from PySide6.QtGui import QUndoStack
    from PySide6.QtWidgets import QDockWidget, QMenu

    from flowviz.gui.state import AppState
    from flowviz.gui.views.frame_worker import FrameWorker
    from flowviz.render.style import Style


class WindowSeams(Protocol):
    """A QMainWindow with these extension points (MainWindow implements them)."""

    state: AppState
    worker: FrameWorker
    undo: QUndoStack
    style_: Style
    closing: SignalInstance  # emitted first thing when the window closes
    core_ready: SignalInstance  # the math core (torch) has loaded

    def add_view(self, key: str, title: str, view: QWidget) -> None: ...

    def add_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea = ..., *, tab_with: str | None = None
    ) -> None: ...

    def menu(self, name: str) -> QMenu: ...

    def show_status(self, text: str) -> None: ...

    def show_error(self, text: str) -> None: ...


def scrolled(widget: QWidget) -> QWidget:
    """widget in a frameless scroll area: a dock's content scrolls on a small screen
    instead of being squeezed until its rows overlap."""
    from PySide6.QtWidgets import QFrame, QScrollArea

    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    # As wide as the content (its rows must not be cut); only the height scrolls.
    bar = area.verticalScrollBar().sizeHint().width()
    area.setMinimumWidth(widget.minimumSizeHint().width() + bar)
    return area
