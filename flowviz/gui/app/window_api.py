"""WindowSeams: what a window offers the panels and controllers installed on it.

The extensions (gui/training, gui/sessions, gui/lessons, gui/export) code against this
protocol, never against MainWindow, so nothing in the package imports the window but the
code that starts the app: no import circles. Everything of the window they use is declared
here or is QMainWindow's own API (tests/test_architecture.py checks their source).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from PySide6.QtCore import QObject, QSettings, Qt, SignalInstance
    from PySide6.QtGui import QUndoStack
    from PySide6.QtWidgets import QDockWidget, QMenu

    from flowviz.gui.app.tools import CanvasTools
    from flowviz.gui.panels.time_bar import Player
    from flowviz.gui.state import AppState
    from flowviz.gui.views.frame_worker import FrameWorker
    from flowviz.render.style import Style


class WindowSeams(Protocol):
    """A QMainWindow (its own API: addAction, resizeDocks, statusBar, style, ...) with
    these extension points (MainWindow implements them)."""

    state: AppState  # the Session shown, and its change signals
    worker: FrameWorker  # background jobs off the UI thread (file reads, readouts)
    undo: QUndoStack  # every Session change a user can undo is pushed here
    style_: Style  # colours and sizes the views and charts draw with
    settings: QSettings  # the window's settings (recent files, dialog choices)
    player: Player  # plays or pauses the animation (lesson actions)
    tools: CanvasTools  # the drawing tools (the start screen picks the brush)
    #: the installed extensions by name ("training", "sessions", ...); set once all are
    #: installed, so an extension reaches another only after its own install
    extensions: dict[str, QObject]
    closing: SignalInstance  # emitted first thing when the window closes
    core_ready: SignalInstance  # the math core (torch) has loaded

    def add_view(self, key: str, title: str, view: QWidget) -> None:
        """Add a view (the Learned view) to the view area, with its View menu toggle."""

    def add_dock(
        self, dock: QDockWidget, area: Qt.DockWidgetArea = ..., *, tab_with: str | None = None
    ) -> None:
        """Add a dock, remembered by its objectName, as a tab beside tab_with if given."""

    def view(self, key: str) -> QWidget | None:
        """The view called key ("conditional", "marginal", "learned"), None if none."""

    def menu(self, name: str) -> QMenu:
        """The menu called name, created if new."""

    def show_status(self, text: str) -> None:
        """A line in the status bar."""

    def show_error(self, text: str) -> None:
        """A message box the user must acknowledge."""


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
