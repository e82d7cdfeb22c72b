"""Pick the light or dark Style from the system palette (re-read on palette changes)."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from flowviz.render.style import Style


def is_dark() -> bool:
    palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def current_style() -> Style:
    return Style(dark=is_dark())
