"""The start screen of a first launch: the gallery sessions, or an empty canvas.

Non-modal, so nothing waits on it (a test, the math core loading behind it); closed in
any way it counts as dismissed and never comes back (the controller records that)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout


class StartScreen(QDialog):
    """entries: [(path, title, description)]. chosen(path) when a session is picked,
    start_drawing() for an empty canvas; either closes the dialog."""

    chosen = Signal(str)
    start_drawing = Signal()

    def __init__(self, entries: list[tuple[Path, str, str]], parent=None):
        super().__init__(parent)
        self.setObjectName("start_screen")
        self.setWindowTitle("Welcome to flowviz")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "<b>flowviz</b> shows how flow matching turns noise into data.<br>"
            "Open a ready session, or draw your own data set."
        )
        font = QFont(intro.font())
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        intro.setFont(font)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.buttons: dict[str, QPushButton] = {}
        for path, title, description in entries:
            b = QPushButton(title)
            b.setToolTip(description or str(path))
            b.clicked.connect(lambda _=False, p=str(path): self._choose(p))
            layout.addWidget(b)
            self.buttons[str(path)] = b
        self.draw_button = QPushButton("Start drawing")
        self.draw_button.setToolTip("An empty canvas: draw the data with the brush")
        self.draw_button.clicked.connect(self._draw)
        layout.addWidget(self.draw_button)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        layout.addWidget(close)

    def _choose(self, path: str) -> None:
        self.accept()
        self.chosen.emit(path)

    def _draw(self) -> None:
        self.accept()
        self.start_drawing.emit()
