"""App start: make the window with its extensions (live training, sessions, lessons,
export) and run the event loop."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from flowviz.gui.app.autosave import install_keeper
from flowviz.gui.app.main_window import MainWindow
from flowviz.gui.export import install_export
from flowviz.gui.lessons import install_lessons
from flowviz.gui.sessions import install_sessions
from flowviz.gui.training.controller import install_training

#: What every app window gets installed on it: name -> install(window).
EXTENSIONS = {
    "training": install_training,
    "sessions": install_sessions,
    "lessons": install_lessons,
    "export": install_export,
}


def make_window(settings: QSettings | None = None) -> MainWindow:
    """The app's window: MainWindow with its extensions installed (tests use this too)."""
    return MainWindow(settings, extensions=EXTENSIONS)


def run(argv: list[str]) -> int:
    """Create the QApplication, show the main window, and run the event loop."""
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("flowviz")
    app.setApplicationName("flowviz")
    window = make_window()
    install_keeper(window)  # the close question and the autosave: the app's window only
    window.show()
    return app.exec()
