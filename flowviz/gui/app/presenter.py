"""Presenter mode (F11): full screen, type scaled for a projector, only the controls a
lecturer needs (play, time, lesson navigation, Train) and the loss chart, view titles kept
on one line; leaving gives the window back as it was. And the keys that work wherever the
focus is (Space plays or pauses even in a spin box).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QFont, QKeyEvent, QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QStyle,
    QToolBar,
)

from flowviz.gui.panels.loss_chart import LossChart

SCALES = (100, 125, 150, 175, 200, 250)
#: Docks kept in presenter mode: the lesson's text and the loss chart (lesson steps talk
#: about it); the others are the laptop's tools.
KEPT_DOCKS = ("lesson_dock", "loss_dock")
#: Kept docks whose state in presenter mode outlives it (a lesson started while presenting).
CARRIED_DOCKS = ("lesson_dock",)
#: The loss chart's share of the window's width in presenter mode.
CHART_SHARE = 0.26
#: A view title may shrink to this share of the laptop's type to stay on one line.
MIN_TITLE_SHARE = 0.8


class Presenter(QObject):
    """on: whether presenter mode is on; scale: type scale in percent (SCALES), kept in
    QSettings; set_scale applies at once while presenting. Leaving gives back exactly the
    window it found (docks, their tabs, tool bars: QMainWindow.saveState)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.on = False
        self.scale = int(window.settings.value("presenter/scale", 175))
        self._layout: QByteArray | None = None
        self._font: QFont | None = None
        self._was_maximized = False
        self._titles: list[QLabel] = []

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
            self._layout = w.saveState()
            for b in (*w.findChildren(QToolBar), *w.findChildren(QDockWidget)):
                if b.objectName() not in KEPT_DOCKS:
                    b.hide()
            self._font = QApplication.font()
            self._apply_font()
            w.presenter_bar.show()
            w.showFullScreen()
            self._show_chart()
            self._watch_titles(True)
            w.show_status("Presenter mode: F11 or Esc to leave.")
        else:
            self._watch_titles(False)
            if self._font is not None:
                QApplication.setFont(self._font)
                self._set_key_sizes(None)
            w.presenter_bar.hide()
            if self._was_maximized:
                w.showMaximized()
            else:
                w.showNormal()
            # The lesson started or closed while presenting stays so; the rest is as found.
            carried = {d: d.isVisible() for d in w.findChildren(QDockWidget) if _carried(d)}
            # Lay out at the laptop's type first (Qt posts the font change): sizes restored
            # against the projector type's larger minimum heights squeeze the loss chart.
            for kind in (QEvent.Type.ApplicationFontChange, QEvent.Type.LayoutRequest):
                QApplication.sendPostedEvents(None, kind.value)
            if self._layout is not None:
                w.restoreState(self._layout)
            self._layout = None
            for dock, shown in carried.items():
                dock.setVisible(shown)
            w.show_status("Left presenter mode.")

    def _show_chart(self) -> None:
        """The loss chart beside the views, wide enough for its projector-sized type."""
        w = self.window
        dock = w.findChild(QDockWidget, "loss_dock")
        if dock is None or not dock.toggleViewAction().isChecked():
            return  # closed by the user: the presenter bar's toggle brings it back
        dock.show()
        dock.raise_()
        width = int(w.width() * CHART_SHARE)
        w.resizeDocks([dock], [width], Qt.Orientation.Horizontal)

    def _apply_font(self) -> None:
        base = QFont(self._font)
        size = base.pointSizeF() if base.pointSizeF() > 0 else 10.0
        base.setPointSizeF(size * self.scale / 100)
        QApplication.setFont(base)
        self._set_key_sizes(max(10.0, size) * self.scale / 100)
        for label in self._titles:
            self._fit_title(label)

    def _set_key_sizes(self, points: float | None) -> None:
        for view in self.window.views():
            scene = getattr(view, "scene", None)
            if scene is not None:
                scene.set_key_size(points)
        for chart in self.window.findChildren(LossChart):
            chart.set_point_size(points)

    # ------------------------------------------------------------ view titles

    def _watch_titles(self, on: bool) -> None:
        """Keep each view's title on one line while presenting (shrunk to fit its view,
        down to MIN_TITLE_SHARE of the laptop's type); refit when the view or its title
        changes."""
        for label in self._titles:
            label.removeEventFilter(self)
            label.parentWidget().removeEventFilter(self)
            label.setFont(QFont())  # inherit the application's font again
        self._titles = []
        if not on:
            return
        for view in self.window.views():
            label = getattr(view, "title", None)
            if isinstance(label, QLabel):
                self._titles.append(label)
                label.installEventFilter(self)
                view.installEventFilter(self)
                self._fit_title(label)

    def _fit_title(self, label: QLabel) -> None:
        font = QFont(QApplication.font())
        lowest = MIN_TITLE_SHARE * (self._font or font).pointSizeF()
        room = label.contentsRect().width() - 2 * label.margin() - 8  # 8: the text's margins
        size = font.pointSizeF()
        doc = QTextDocument()
        doc.setHtml(label.text())
        while True:
            font.setPointSizeF(size)
            doc.setDefaultFont(font)
            if doc.idealWidth() <= room or size * 0.95 < lowest:
                break
            size *= 0.95
        if label.font().pointSizeF() != size:
            label.setFont(font)

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Resize and obj in self._titles:
            self._fit_title(obj)
        elif kind == QEvent.Type.LayoutRequest:  # a title's text changed
            for label in self._titles:
                if label.parentWidget() is obj:
                    self._fit_title(label)
        return False


def _carried(dock: QDockWidget) -> bool:
    return dock.objectName() in CARRIED_DOCKS


def build_bar(window) -> QToolBar:
    """The one tool bar of presenter mode: play (Pause while playing), lesson Back/Next,
    Train, the loss chart's toggle, leave."""
    bar = QToolBar("Presenter", window)
    bar.setObjectName("presenter_bar")
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    bar.setMovable(False)
    icon = window.style().standardIcon
    sp = QStyle.StandardPixmap
    play = QAction(icon(sp.SP_MediaPlay), "Play", bar)
    play.setObjectName("presenter_play")
    play.triggered.connect(window.player.toggle)

    def show_playing(playing: bool) -> None:
        play.setText("Pause" if playing else "Play")
        play.setIcon(icon(sp.SP_MediaPause if playing else sp.SP_MediaPlay))

    window.state.playing_changed.connect(show_playing)
    show_playing(window.state.playing)
    bar.addAction(play)
    lessons = getattr(window.extensions.get("lessons"), "actions", {})
    training = getattr(window.extensions.get("training"), "actions", {})
    for a in (lessons.get("back"), lessons.get("next"), training.get("train")):
        if a is not None:
            bar.addAction(a)
    chart = window.findChild(QDockWidget, "loss_dock")
    if chart is not None:
        toggle = QAction("Loss chart", bar, checkable=True)
        toggle.setObjectName("presenter_chart")
        toggle.setToolTip("Show or hide the loss chart")
        toggle.setChecked(chart.toggleViewAction().isChecked())
        toggle.toggled.connect(chart.setVisible)
        chart.visibilityChanged.connect(lambda _v: toggle.setChecked(not chart.isHidden()))
        bar.addAction(toggle)
    leave = QAction("Leave presenter mode", bar)
    leave.triggered.connect(lambda: window.presenter_action.setChecked(False))
    bar.addAction(leave)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    bar.hide()
    return bar


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
