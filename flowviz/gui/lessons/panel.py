"""The Lesson dock's widget: the step's title and text in readable type, step k of n,
Back and Next. It shows what the controller tells it and owns no lesson state. Its type
follows the application font (presenter mode scales that for a projector)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

TEXT_PT = 12.0  # at least 11 pt: read from the back of a room
TITLE_PT = 14.0
MIN_WIDTH = 260  # px at the normal type size; presenter mode widens it with the type


class LessonPanel(QWidget):
    """Labels: lesson (the lesson's title), counter ("Step k of n"), title, text, actions
    (what the step does besides the views). Buttons: back, next."""

    #: The type's scale changed (presenter mode): the factor, 1 at the normal size.
    scaled = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lesson_panel")
        self._base_pt = self._points()  # the inherited font's size when not presenting
        self._factor = 1.0
        self._sizes: dict[QLabel, float] = {}
        layout = QVBoxLayout(self)
        self.lesson = self._label(TEXT_PT - 1)
        self.counter = self._label(TEXT_PT - 1)
        self.counter.setWordWrap(False)  # "Step 1 of 9" on one line
        self.title = self._label(TITLE_PT, bold=True)
        self.text = self._label(TEXT_PT)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.actions = self._label(TEXT_PT - 1)
        self.actions.setStyleSheet("color: palette(mid);")
        self.back = QPushButton("◀ Back")
        self.back.setToolTip("The previous step (Page Up)")
        self.next = QPushButton("Next ▶")
        self.next.setToolTip("The next step (Page Down)")
        self._buttons = buttons = QHBoxLayout()
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        buttons.addWidget(self.next)
        # The text scrolls when it is longer than the dock (large type on a small screen);
        # Back, Next and the counter stay in view below it.
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        for w in (self.lesson, self.title, self.text, self.actions):
            column.addWidget(w)
        column.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(page)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(buttons)
        self._scale_type()

    def _label(self, points: float, *, bold: bool = False) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(label.font())
        font.setBold(bold)
        label.setFont(font)
        self._sizes[label] = points
        return label

    def _scale_type(self) -> None:
        """Each label at its size, times how much the application font has grown since
        the panel was made (presenter mode's scale), never below the readable size."""
        factor = self._points() / self._base_pt
        for label, points in self._sizes.items():
            font = label.font()
            font.setPointSizeF(max(points, self._base_pt) * factor)
            label.setFont(font)
        changed, self._factor = factor != self._factor, factor
        self._fit_width()
        if changed:
            self.scaled.emit(factor)

    def _fit_width(self) -> None:
        """At least MIN_WIDTH (wider with the type), and never narrower than Back, the
        counter and Next side by side: the counter is never cut."""
        self._buttons.invalidate()
        m = self.layout().contentsMargins()
        need = self._buttons.sizeHint().width() + m.left() + m.right()
        self.setMinimumWidth(max(int(MIN_WIDTH * min(max(self._factor, 1.0), 2.0)), need))

    def _points(self) -> float:
        size = self.font().pointSizeF()
        return size if size > 0 else 10.0

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:  # the application font, inherited
            self._scale_type()
        super().changeEvent(event)

    def show_step(
        self, title: str, text: str, actions: str, index: int, count: int, *, lesson: str = ""
    ) -> None:
        """Show step index (0-based; -1: the lesson's start page) of count."""
        self.lesson.setText(lesson)
        self.lesson.setVisible(bool(lesson))
        self.counter.setText(f"Step {index + 1} of {count}" if index >= 0 else f"{count} steps")
        self._fit_width()
        self.title.setText(title)
        self.text.setText(text)
        self.actions.setText(f"This step also: {actions}." if actions else "")
        self.actions.setVisible(bool(actions))
