"""Unsaved work is never lost silently: closing the window with changes since the last save
or open asks Save / Discard / Cancel, and an autosave (a session file, written atomically
on the frame worker a few seconds after each change and while training) lets the next
launch offer to restore what a crash or a killed process left, as editors do.

"Unsaved" compares with what was last saved or opened: the Session (less the time, the
camera and the picked z, which are looking rather than work) and the trained network
shown (a new snapshot object: trained, reset, loaded). The app's window gets a keeper
(launch.run); a window made for a test or a benchmark gets one only when asked, so
nothing there waits on a question.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from flowviz import sessions

if TYPE_CHECKING:
    from flowviz.gui.app.window_api import WindowSeams
    from flowviz.session import Session

NAME = f"autosave{sessions.SUFFIX}"
#: Session fields whose change is not work to keep (where one looks, not what one made).
LOOKING = frozenset({"t", "camera", "selected"})
CHANGE_DELAY_MS = 3000  # autosave this long after the last change (a stroke, a setting)
CHECK_MS = 15000  # and at this period while training changes the network


def data_folder() -> Path:
    """Where the autosave lives: the app's data location (tests point it elsewhere)."""
    location = QStandardPaths.StandardLocation.AppDataLocation
    return Path(QStandardPaths.writableLocation(location) or Path.home() / ".flowviz")


def ask_unsaved(parent) -> str:
    """ "save", "discard" or "cancel": what to do with unsaved work on closing."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent,
        "flowviz",
        "The data or the trained network changed since it was last saved.\n"
        "Save the session before closing?",
        buttons.Save | buttons.Discard | buttons.Cancel,
        buttons.Save,
    )
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


def ask_restore(parent, text: str) -> bool:
    """Whether to restore the autosave that text describes."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, "flowviz", text, buttons.Yes | buttons.No, buttons.Yes)
    return answer == buttons.Yes


class Keeper(QObject):
    """unsaved() -> bool; may_close() (asks when unsaved: False keeps the window open);
    path: the autosave file; autosave() writes it now (on the frame worker; writing()
    while it does). The next launch's keeper offers to restore it once the math core has
    loaded; declining removes it."""

    def __init__(self, window: WindowSeams, folder: Path | None = None):
        super().__init__(window)
        self.path = (folder or data_folder()) / NAME
        self._baseline: tuple[Session, object] | None = None
        self._autosaved: tuple[Session, object] | None = None
        self._restored = False  # the shown work came from the autosave: saved nowhere yet
        self._lock = threading.Lock()  # a write in flight and the file's removal
        self._closed = False
        self._writes = 0
        self._change_timer = QTimer(self, singleShot=True, interval=CHANGE_DELAY_MS)
        self._change_timer.timeout.connect(self.autosave)
        self._check_timer = QTimer(self, interval=CHECK_MS)
        self._check_timer.timeout.connect(self.autosave)
        window.core_ready.connect(self._on_core_ready)
        sessions_ = self._sessions()
        if sessions_ is not None:
            sessions_.opened.connect(self._on_opened)
            sessions_.saved.connect(lambda _name: self.mark_saved())

    @property
    def window(self) -> WindowSeams:
        return self.parent()

    def _sessions(self):
        return self.window.extensions.get("sessions")

    def _network(self):
        training = self.window.extensions.get("training")
        return getattr(training, "snapshot", None)

    def _now(self) -> tuple[Session, object]:
        return self.window.state.session, self._network()

    # ------------------------------------------------------------ unsaved

    def mark_saved(self) -> None:
        """What is shown now is saved (or freshly opened): nothing to ask about."""
        self._baseline = self._now()
        self._restored = False

    def unsaved(self) -> bool:
        if self._baseline is None:
            return False  # the math core has not loaded: nothing was made yet
        if self._restored:
            return True
        return _differs(self._baseline, self._now())

    def may_close(self) -> bool:
        """Ask about unsaved work: Save (choose a file; cancelling it keeps the window),
        Discard, or Cancel. The autosave goes when the window closes with nothing lost."""
        if self._closed:
            return True
        if self.unsaved():
            answer = ask_unsaved(self.window)
            if answer == "cancel" or (answer == "save" and not self._save_as()):
                return False
        self._close()
        return True

    def _save_as(self) -> bool:
        name, _ = QFileDialog.getSaveFileName(
            self.window, "Save session", f"session{sessions.SUFFIX}", sessions.FILTER
        )
        if not name:
            return False
        if not Path(name).suffix:
            name += sessions.SUFFIX
        keeper = self._sessions()
        return keeper is not None and keeper.save_session(name)

    def _close(self) -> None:
        self._closed = True
        self._change_timer.stop()
        self._check_timer.stop()
        with self._lock:
            self.path.unlink(missing_ok=True)

    # ------------------------------------------------------------ autosave

    def _on_session_changed(self, changed) -> None:
        if changed - LOOKING:
            self._change_timer.start()

    def writing(self) -> bool:
        """An autosave is being written (what a test waits on)."""
        return self._writes > 0

    def autosave(self) -> None:
        """Write the shown session and network to path when they differ from what was last
        saved and from the last autosave (on the frame worker: the window keeps
        answering). The file is written atomically: a crash leaves the old one or the new."""
        if self._closed or not self.unsaved():
            return
        now = self._now()
        if self._autosaved is not None and not _differs(self._autosaved, now):
            return
        training = self.window.extensions.get("training")
        trained = training.trained_state() if training is not None else None
        session, path = now[0], self.path
        net = f", a network trained for {trained['step']} steps" if trained else ""
        what = f"{len(session.data)} data points{net}"  # what the restore question names
        self._autosaved = now
        self._writes += 1

        def write():
            with self._lock:
                if self._closed:
                    return None
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    sessions.save(path, session, trained, title="autosave", description=what)
                except (OSError, ValueError) as exc:
                    return exc
            return None

        def done(error) -> None:
            self._writes -= 1
            if error is not None:
                self.window.show_status(f"Autosave failed: {error}")

        self.window.worker.submit(write, done, priority=-0.5, alive=lambda: not self._closed)

    # ------------------------------------------------------------ restore

    def _on_core_ready(self) -> None:
        self.mark_saved()
        self.window.state.session_changed.connect(self._on_session_changed)
        self._check_timer.start()
        if self.path.is_file():
            self._offer_restore()

    def _offer_restore(self) -> None:
        try:  # the file's description only (cheap); the open reads it on the frame worker
            what = sessions.info(self.path).get("description") or "its work"
        except ValueError:
            self.path.unlink(missing_ok=True)  # damaged: nothing to offer
            return
        text = f"flowviz closed last time without saving ({what}). Restore it?"
        keeper = self._sessions()
        if keeper is None or not ask_restore(self.window, text):
            self.path.unlink(missing_ok=True)
            return
        keeper.open_session(str(self.path), remember=False)

    def _on_opened(self, filename: str) -> None:
        self.mark_saved()
        if filename == str(self.path):
            self._restored = True
            self.window.show_status("Restored the autosaved session: save it to keep it.")


def _differs(a: tuple[Session, object], b: tuple[Session, object]) -> bool:
    return bool(a[0].changed(b[0]) - LOOKING) or a[1] is not b[1]


def install_keeper(window: WindowSeams, folder: Path | None = None) -> Keeper:
    """Give the window the close question and the autosave (after its extensions)."""
    keeper = Keeper(window, folder)
    window.extensions["keeper"] = keeper
    return keeper
