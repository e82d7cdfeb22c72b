"""The start screen of a first launch: the lesson, the gallery sessions as thumbnails, or
an empty canvas.

Non-modal, so nothing waits on it (a test, the math core loading behind it); closed in
any way it counts as dismissed and never comes back (the controller records that). The
thumbnails are PNGs beside the gallery files (assets/sessions/make_thumbnails.py renders
them with the exporter's canvas); a session without one shows its title alone.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
)

THUMBNAIL = 160  # pixels across a gallery thumbnail
COLUMNS = 4


def thumbnail_of(session_file: Path) -> Path:
    """Where a gallery session's thumbnail is (it may not exist)."""
    return Path(session_file).with_suffix(".png")


class StartScreen(QDialog):
    """entries: [(path, title, description)]; lesson: the lesson's title (None: no lesson).
    chosen(path) when a session is picked, start_lesson() for the lesson, start_drawing()
    for an empty canvas; each closes the dialog."""

    chosen = Signal(str)
    start_lesson = Signal()
    start_drawing = Signal()

    def __init__(self, entries: list[tuple[Path, str, str]], parent=None, *, lesson=None):
        super().__init__(parent)
        self.setObjectName("start_screen")
        self.setWindowTitle("Welcome to flowviz")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "<b>flowviz</b> shows how flow matching turns noise into data.<br>"
            "Follow the lesson, open a ready session, or draw your own data set."
        )
        font = QFont(intro.font())
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        intro.setFont(font)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.lesson_button: QPushButton | None = None
        if lesson:
            self.lesson_button = QPushButton(f"Start the lesson: {lesson}")
            self.lesson_button.setToolTip("Step by step through flow matching, in this window")
            self.lesson_button.setFont(font)
            self.lesson_button.clicked.connect(self._lesson)
            layout.addWidget(self.lesson_button)
        self.buttons: dict[str, QToolButton] = {}
        grid = QGridLayout()
        for i, (path, title, description) in enumerate(entries):
            b = QToolButton()
            b.setText(title)
            b.setToolTip(description or str(path))
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            picture = QPixmap(str(thumbnail_of(path)))
            if not picture.isNull():
                b.setIcon(QIcon(picture))
                b.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.clicked.connect(lambda _=False, p=str(path): self._choose(p))
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
            self.buttons[str(path)] = b
        for c in range(min(COLUMNS, len(entries))):
            grid.setColumnStretch(c, 1)  # every thumbnail as wide as the others
        layout.addLayout(grid)
        row = QHBoxLayout()
        self.draw_button = QPushButton("Start drawing")
        self.draw_button.setToolTip("An empty canvas: draw the data with the brush")
        self.draw_button.clicked.connect(self._draw)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        row.addWidget(self.draw_button)
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)

    def _choose(self, path: str) -> None:
        self.accept()
        self.chosen.emit(path)

    def _lesson(self) -> None:
        self.accept()
        self.start_lesson.emit()

    def _draw(self) -> None:
        self.accept()
        self.start_drawing.emit()
