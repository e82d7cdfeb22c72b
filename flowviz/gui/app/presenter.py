"""Presenter mode (F11): full screen, type scaled for a projector, only the controls a
lecturer needs (play, time, lesson navigation, Train); and the keys that work wherever the
focus is (Space plays or pauses even in a spin box).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QToolBar,
)

SCALES = (100, 125, 150, 175, 200, 250)
#: Docks kept in presenter mode (the lesson's text); the others are the laptop's tools.
KEPT_DOCKS = ("lesson_dock",)


class Presenter(QObject):
    """on: whether presenter mode is on; scale: type scale in percent (SCALES), kept in
    QSettings; set_scale applies at once while presenting."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.on = False
        self.scale = int(window.settings.value("presenter/scale", 175))
        self._hidden: list = []
        self._font: QFont | None = None
        self._was_maximized = False

    def toggle(self) -> None:
        self.set_on(not self.on)

    def set_scale(self, percent: int) -> None:
        self.scale = int(percent)
        self.window.settings.setValue("presenter/scale", self.scale)
        if self.on:
            self._apply_font()

    def set_on(self, on: bool) -> None:
        if on == self.on:
            return
        w = self.window
        self.on = on
        if on:
            self._was_maximized = w.isMaximized()
            self._hidden = [
                b
                for b in (*w.findChildren(QToolBar), *w.findChildren(QDockWidget))
                if b.isVisible() and b.objectName() not in KEPT_DOCKS
            ]
            for b in self._hidden:
                b.hide()
            self._font = QApplication.font()
            self._apply_font()
            w.presenter_bar.show()
            w.showFullScreen()
            w.show_status("Presenter mode: F11 or Esc to leave.")
        else:
            for b in self._hidden:
                b.show()
            self._hidden = []
            if self._font is not None:
                QApplication.setFont(self._font)
                self._set_key_sizes(None)
            w.presenter_bar.hide()
            if self._was_maximized:
                w.showMaximized()
            else:
                w.showNormal()

    def _apply_font(self) -> None:
        base = QFont(self._font)
        size = base.pointSizeF() if base.pointSizeF() > 0 else 10.0
        base.setPointSizeF(size * self.scale / 100)
        QApplication.setFont(base)
        self._set_key_sizes(max(10.0, size) * self.scale / 100)

    def _set_key_sizes(self, points: float | None) -> None:
        for view in self.window.views():
            scene = getattr(view, "scene", None)
            if scene is not None:
                scene.set_key_size(points)


class SpaceAnywhere(QObject):
    """Space plays or pauses wherever the focus is in the window: spin boxes (and their
    line edits) claim printable keys before shortcuts see them. Refusing their claim lets
    the window's Space shortcut fire; typing into a plain text field still works."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        if event.key() != Qt.Key.Key_Space or event.modifiers() != Qt.KeyboardModifier.NoModifier:
            return False
        focus = QApplication.focusWidget()
        if focus is None or focus.window() is not self.window:
            return False
        takers = (QAbstractSpinBox, QComboBox, QAbstractButton, QAbstractSlider)
        return any(isinstance(w, takers) for w in (focus, focus.parentWidget()))

    def close(self) -> None:
        QApplication.instance().removeEventFilter(self)
