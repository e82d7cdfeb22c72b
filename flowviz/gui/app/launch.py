"""Entry point of the desktop app: flowviz.gui.app.run(argv)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from flowviz.gui.app.main_window import MainWindow


def run(argv: list[str]) -> int:
    """Create the QApplication, show the main window, and run the event loop."""
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("flowviz")
    app.setApplicationName("flowviz")
    window = MainWindow()
    window.show()
    return app.exec()
