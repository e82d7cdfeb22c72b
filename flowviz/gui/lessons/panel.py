"""The Lesson dock's widget: the step's title and text in readable type, step k of n,
Back and Next. It shows what the controller tells it and owns no lesson state."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

TEXT_PT = 12.0  # at least 11 pt: read from the back of a room
TITLE_PT = 14.0


class LessonPanel(QWidget):
    """Labels: lesson (the lesson's title), counter ("Step k of n"), title, text, actions
    (what the step does besides the views). Buttons: back, next."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lesson_panel")
        self.setMinimumWidth(260)
        layout = QVBoxLayout(self)
        self.lesson = self._label(TEXT_PT - 1)
        self.counter = self._label(TEXT_PT - 1)
        self.title = self._label(TITLE_PT, bold=True)
        self.text = self._label(TEXT_PT)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.actions = self._label(TEXT_PT - 1)
        self.actions.setStyleSheet("color: palette(mid);")
        self.back = QPushButton("◀ Back")
        self.back.setToolTip("The previous step (Page Up)")
        self.next = QPushButton("Next ▶")
        self.next.setToolTip("The next step (Page Down)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        buttons.addWidget(self.next)
        for w in (self.lesson, self.title, self.text, self.actions):
            layout.addWidget(w)
        layout.addStretch(1)
        layout.addLayout(buttons)

    def _label(self, points: float, *, bold: bool = False) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(label.font())
        font.setPointSizeF(max(font.pointSizeF(), points))
        font.setBold(bold)
        label.setFont(font)
        return label

    def show_step(
        self, title: str, text: str, actions: str, index: int, count: int, *, lesson: str = ""
    ) -> None:
        """Show step index (0-based; -1: the lesson's start page) of count."""
        self.lesson.setText(lesson)
        self.lesson.setVisible(bool(lesson))
        self.counter.setText(f"Step {index + 1} of {count}" if index >= 0 else f"{count} steps")
        self.title.setText(title)
        self.text.setText(text)
        self.actions.setText(f"This step also: {actions}." if actions else "")
        self.actions.setVisible(bool(actions))
