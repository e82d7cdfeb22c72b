"""Lessons on a window: the Lesson dock and menu (Back / Next on PageUp / PageDown).

Each step is applied as ONE undoable Session patch (its "session" part and the actions
that decide the Session: a preset, a typical z, the training steps), then its other
actions run (play, pause, train, stop, reset weights, probe). A step's display and probe
last for that step only (flowviz.lessons). Leaving (Lesson → Leave lesson, or closing the
dock) gives back the settings the lesson changed as one undoable edit: the next drawing
trains with the settings it had before. A teacher opens their own lesson file with
Lesson → Open lesson file…; flowviz.lessons documents the format.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog

from flowviz import lessons
from flowviz.gui.app.edits import SessionEdit
from flowviz.gui.lessons.panel import LessonPanel

if TYPE_CHECKING:
    from flowviz.gui.app.window_api import WindowSeams
    from flowviz.session import Session


def install_lessons(window: WindowSeams) -> LessonController:
    """Give the window the Lesson menu and dock (the app's lesson loaded, not started)."""
    return LessonController(window)


class LessonDock(QDockWidget):
    """The Lesson dock; closed when the user closes it (its title bar's button)."""

    closed = Signal()

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()


class LessonController(QObject):
    """lesson: the Lesson shown; index: the step applied (-1: not started); running:
    whether a lesson is on (from its first step applied until leave()); start: the
    Session it began in. next(), back(), go(k), open_lesson(filename) -> bool, leave().
    stepped(k) after step k is applied."""

    stepped = Signal(int)

    def __init__(self, window: WindowSeams):
        super().__init__(window)
        self.state = window.state
        self.index = -1
        self.start: Session | None = None
        self._core_ready = False
        self._pending: int | None = None
        try:
            self.lesson: lessons.Lesson | None = lessons.load(lessons.DEFAULT)
        except ValueError as exc:  # a broken install must not stop the window
            self.lesson = None
            window.show_status(f"The lesson could not be loaded: {exc}")
        self.panel = LessonPanel()
        self.panel.back.clicked.connect(self.back)
        self.panel.next.clicked.connect(self.next)
        self.dock = LessonDock("Lesson", window)
        self.dock.closed.connect(self.leave)
        self.dock.setObjectName("lesson_dock")
        self.dock.setWidget(self.panel)
        window.add_dock(self.dock, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.dock.hide()  # until a lesson starts (a restored layout may show it)
        self.panel.scaled.connect(self._on_type_scaled)
        self.actions = self._build_menu()
        window.core_ready.connect(self._on_core_ready)
        self._show()

    @property
    def window(self) -> WindowSeams:
        return self.parent()

    def _build_menu(self) -> dict[str, QAction]:
        w = self.window
        menu = w.menu("Lesson")
        out = {}
        for key, text, shortcut, slot, tip in (
            ("start", "&Start lesson", None, lambda: self.go(0),
             "Start the lesson from its first step"),
            ("back", "&Back", "PgUp", self.back, "The previous lesson step (Page Up)"),
            ("next", "&Next", "PgDown", self.next, "The next lesson step (Page Down)"),
            ("open", "&Open lesson file…", None, self.open_lesson_dialog,
             "Open a lesson written as a JSON file (see flowviz/lessons.py)"),
            ("leave", "&Leave lesson", None, self.leave,
             "Close the lesson and give back the settings it changed (one undo step)"),
        ):  # fmt: skip
            a = QAction(text, w)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setStatusTip(tip)
            a.triggered.connect(lambda _=False, slot=slot: slot())
            w.addAction(a)
            menu.addAction(a)
            out[key] = a
            if key == "next":
                menu.addSeparator()
        return out

    # ------------------------------------------------------------ navigation

    def next(self) -> None:
        if self.lesson is not None:
            self.go(min(self.index + 1, len(self.lesson.steps) - 1))

    def back(self) -> None:
        if self.lesson is not None:
            self.go(max(self.index - 1, 0))

    def go(self, k: int) -> None:
        """Apply step k (0-based) as one undoable patch, then run its actions."""
        if self.lesson is None or not 0 <= k < len(self.lesson.steps):
            return
        self.dock.show()
        self.dock.raise_()
        if not self._core_ready:  # presets and training need the math core: apply it then
            self._pending = k
            self.index = k
            self._show()
            return
        step = self.lesson.steps[k]
        start = self.start or self.state.session
        try:
            new = step.apply_to(self.state.session, display=self.lesson.base_display(start))
        except ValueError as exc:
            self.window.show_error(f"Lesson step {k + 1}: {exc}")
            return
        self.index, self.start = k, start
        changed = new.changed(self.state.session)
        if changed:
            patch = {name: getattr(new, name) for name in changed}
            label = f"Lesson step {k + 1}: {lessons.plain(step.title)}"
            self.window.undo.push(SessionEdit.of(self.state, patch, label))
        if not step.probes:
            self._probe(None)
        for action in step.runtime_actions():
            self._run(action)
        self._show()
        self.stepped.emit(k)

    @property
    def running(self) -> bool:
        return self.start is not None

    def leave(self) -> None:
        """Close the panel and give back the settings the lesson changed (one undo step;
        its data stays, and Undo keeps the lesson's settings)."""
        self.dock.hide()
        if self.start is None:
            return
        start, self.start = self.start, None
        self._probe(None)
        if self.lesson is not None:
            back = lessons.given_back(self.lesson, before=start, now=self.state.session)
            if back:
                label = "Leave lesson: settings as before"
                self.window.undo.push(SessionEdit.of(self.state, back, label))
                self.window.show_status(
                    f"Left the lesson: {', '.join(back)} as before it (Undo keeps the lesson's)."
                )
        self.index = -1
        self._show()

    def open_lesson_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self.window, "Open lesson", str(lessons.ASSETS), lessons.FILTER
        )
        if name:
            self.open_lesson(name)

    def open_lesson(self, filename: str) -> bool:
        """Load a lesson file and start it; a bad file shows why and keeps the current one."""
        try:
            lesson = lessons.load(filename)
        except ValueError as exc:
            self.window.show_error(str(exc))
            return False
        self.lesson, self.index = lesson, -1
        self.window.show_status(f"Lesson {lessons.plain(lesson.title)}: {Path(filename).name}.")
        self.go(0)
        return True

    # ------------------------------------------------------------ actions

    def _run(self, action: lessons.Action) -> None:
        w = self.window
        training = getattr(w, "extensions", {}).get("training")
        kind = action.kind
        if kind in ("play", "pause"):
            w.player.play(kind == "play")
        elif kind == "probe":
            self._probe(action.args)
        elif training is None:
            w.show_status(f"This window has no training: '{action}' skipped.")
        elif kind == "train":
            training.train()
        elif kind == "stop":
            training.stop()
        elif kind == "reset":
            training.reset_weights()

    def _on_type_scaled(self, factor: float) -> None:
        """Presenter mode scaled the type: the dock as wide as the panel now needs."""
        width = self.panel.minimumWidth() + max(self.dock.width() - self.panel.width(), 0)
        self.window.resizeDocks([self.dock], [width], Qt.Orientation.Horizontal)

    def _probe(self, x) -> None:
        view = self.window.view("marginal")
        if view is not None:
            view.probe(x)

    def _on_core_ready(self) -> None:
        self._core_ready = True
        if self._pending is not None:
            k, self._pending = self._pending, None
            self.go(k)

    def _show(self) -> None:
        if self.lesson is None:
            self.panel.show_step("No lesson", "", "", 0, 0)
        elif self.index < 0:
            n = len(self.lesson.steps)
            self.panel.show_step(self.lesson.title, "Press Next (Page Down) to begin.", "", -1, n)
        else:
            step = self.lesson.steps[self.index]
            what = ", ".join(str(a) for a in step.actions)
            self.panel.show_step(
                step.title, step.text, what, self.index, len(self.lesson.steps),
                lesson=self.lesson.title,
            )  # fmt: skip
        n = len(self.lesson.steps) if self.lesson else 0
        on = self.running or self._pending is not None
        self.panel.back.setEnabled(self.index > 0)
        self.panel.next.setEnabled(self.index < n - 1)
        self.actions["back"].setEnabled(on and self.index > 0)
        self.actions["next"].setEnabled(on and self.index < n - 1)
        self.actions["leave"].setEnabled(on)
