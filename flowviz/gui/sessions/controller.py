"""Session files on a window: File → Open session…, Open recent, Gallery, Save session…,
and the start screen of a first launch.

Opening reads and checks the whole file on the frame worker (a large or hostile file
costs seconds; the window keeps answering), then applies it on the UI thread as ONE
undoable step: the Session patch and the trained network (the training controller's
edit: undo brings back the network shown before, or none). A bad file shows its one-line
message and changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from flowviz import sessions
from flowviz.gui.app.edits import SessionEdit
from flowviz.session import EMPTY

if TYPE_CHECKING:
    from flowviz.gui.app.window_api import WindowSeams

#: The ready sessions shipped with the app (made by assets/sessions/make_gallery.py).
GALLERY = Path(__file__).resolve().parents[3] / "assets" / "sessions"
RECENT_KEY = "sessions/recent"
START_KEY = "start/dismissed"
MAX_RECENT = 8
SAVE_SHORTCUT = "Ctrl+Alt+S"  # Ctrl+S saves points, Ctrl+Shift+S a checkpoint
OPEN_SHORTCUT = "Ctrl+Alt+O"  # Ctrl+O opens points, Ctrl+Shift+O a checkpoint


def install_sessions(window: WindowSeams) -> SessionsController:
    """Give the window session files, the gallery and the first-launch start screen."""
    return SessionsController(window)


def gallery_files(folder: Path = GALLERY) -> list[Path]:
    """The gallery's session files, by name."""
    try:
        return sorted(p for p in folder.glob(f"*{sessions.SUFFIX}") if p.is_file())
    except OSError:
        return []


def gallery_title(path: Path) -> str:
    """A gallery file's title (its session.json), or its name when unreadable."""
    try:
        return str(sessions.info(path).get("title") or path.stem)
    except ValueError:
        return path.stem


class SessionsController(QObject):
    """save_session(filename) -> bool (saved(filename) when written); open_session(
    filename, remember=True) (applied when read: opened(filename) or failed(message) says
    which; remember=False keeps it out of Open recent); loading() while a read is in flight;
    recent() the remembered files, newest first; start_screen the first-launch dialog
    (None unless shown)."""

    opened = Signal(str)
    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, window: WindowSeams):
        super().__init__(window)
        self.state = window.state
        self.settings: QSettings = window.settings
        self.start_screen = None
        self._loads = 0
        self._forget: set[str] = set()  # files being opened that Open recent does not list
        self._closed = False
        self._core_ready = False
        self._after_core: list = []
        first_launch = not self.settings.contains("session")
        self.actions = self._build_menu()
        window.closing.connect(self._on_closing)
        window.core_ready.connect(self._on_core_ready)
        if first_launch and not _truthy(self.settings.value(START_KEY, False)):
            QTimer.singleShot(0, self, self.show_start_screen)

    @property
    def window(self) -> WindowSeams:
        return self.parent()

    # ------------------------------------------------------------ menu

    def _build_menu(self) -> dict[str, QAction]:
        w = self.window
        file_menu = w.menu("File")
        first = file_menu.actions()[0] if file_menu.actions() else None
        actions: dict[str, QAction] = {}

        def add(key, item):
            file_menu.insertAction(first, item) if first else file_menu.addAction(item)
            actions[key] = item

        open_ = QAction("Open &session…", w)
        open_.setShortcut(QKeySequence(OPEN_SHORTCUT))
        open_.setStatusTip("Open a saved session: points, settings, trained network, losses")
        open_.triggered.connect(lambda _=False: self.open_session_dialog())
        w.addAction(open_)
        add("open", open_)
        self.recent_menu = QMenu("Open &recent", w)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        add("recent", self.recent_menu.menuAction())
        self.gallery_menu = QMenu("&Gallery", w)
        self.gallery_menu.aboutToShow.connect(self._fill_gallery)
        add("gallery", self.gallery_menu.menuAction())
        save = QAction("Save s&ession…", w)
        save.setShortcut(QKeySequence(SAVE_SHORTCUT))
        save.setStatusTip("Save everything shown, with the trained network, in one file")
        save.triggered.connect(lambda _=False: self.save_session_dialog())
        w.addAction(save)
        add("save", save)
        if first is not None:
            file_menu.insertSeparator(first)
        self._fill_recent()
        self._fill_gallery()
        return actions

    def _fill_recent(self) -> None:
        m = self.recent_menu
        m.clear()
        files = [p for p in self.recent() if Path(p).is_file()]
        for p in files:
            a = m.addAction(Path(p).name)
            a.setStatusTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open_session(p))
        if not files:
            m.addAction("(none yet)").setEnabled(False)

    def _fill_gallery(self) -> None:
        m = self.gallery_menu
        m.clear()
        files = gallery_files()
        for p in files:
            a = m.addAction(gallery_title(p))
            a.setStatusTip(str(p))
            a.triggered.connect(lambda _=False, p=str(p): self.open_session(p))
        if not files:
            m.addAction("(no gallery sessions)").setEnabled(False)

    # ------------------------------------------------------------ recent files

    def recent(self) -> list[str]:
        raw = self.settings.value(RECENT_KEY, "[]")
        try:
            files = json.loads(str(raw))
        except ValueError:
            return []
        if not isinstance(files, list):
            return []
        return [str(f) for f in files if isinstance(f, str)][:MAX_RECENT]

    def _remember(self, filename: str) -> None:
        path = str(Path(filename).resolve())
        files = [path, *(f for f in self.recent() if f != path)][:MAX_RECENT]
        self.settings.setValue(RECENT_KEY, json.dumps(files))

    # ------------------------------------------------------------ saving

    def save_session_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self.window, "Save session", f"session{sessions.SUFFIX}", sessions.FILTER
        )
        if name:
            if not Path(name).suffix:
                name += sessions.SUFFIX
            self.save_session(name)

    def save_session(self, filename: str) -> bool:
        """Write the Session and the trained network (if any) to filename, atomically."""
        trained = None
        training = self._training()
        if training is not None and hasattr(training, "trained_state"):
            trained = training.trained_state()
        try:
            sessions.save(filename, self.state.session, trained)
        except (OSError, ValueError) as exc:
            text = str(exc)
            name = Path(filename).name
            self.window.show_error(text if text.startswith(name) else f"{name}: {text}")
            return False
        self._remember(filename)
        step = f", network at step {trained['step']}" if trained else ""
        self.window.show_status(f"Saved session {filename}{step}.")
        self.saved.emit(filename)
        return True

    # ------------------------------------------------------------ opening

    def open_session_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self.window, "Open session", str(GALLERY), sessions.FILTER
        )
        if name:
            self.open_session(name)

    def open_session(self, filename: str, *, remember: bool = True) -> None:
        """Read filename on the frame worker; apply it on the UI thread when read (and
        list it in Open recent unless remember is False: an autosave)."""
        filename = str(filename)
        if not remember:
            self._forget.add(filename)
        self._loads += 1
        self.window.show_status(f"Opening {Path(filename).name}…")
        self.window.worker.submit(
            lambda: _read(filename),
            self._on_read,
            priority=-0.9,  # before frames: the user waits for it
            alive=lambda: not self._closed,
        )

    def loading(self) -> bool:
        """A session file is being read (what a test waits on)."""
        return self._loads > 0

    def _on_read(self, result) -> None:
        self._loads -= 1
        if self._closed:
            return
        if isinstance(result, Exception):
            self._fail(str(result))
            return
        filename, session, trained = result
        if not self._core_ready:  # the math core applies its default data when it loads
            self._after_core.append(lambda: self._on_read_ready(filename, session, trained))
            return
        self._on_read_ready(filename, session, trained)

    def _on_read_ready(self, filename, session, trained) -> None:
        name = Path(filename).name
        state = self.state
        patch = {k: getattr(session, k) for k in session.changed(state.session)}
        edit = SessionEdit.of(state, patch, f"Open session {name}")
        training = self._training()
        if training is not None:  # the file's network (or none) replaces the shown one
            self.window.undo.push(training.edit(edit, trained))
        elif patch:
            self.window.undo.push(edit)
        if filename in self._forget:
            self._forget.discard(filename)
        else:
            self._remember(filename)
        net = f", network at step {trained['step']}" if trained else ", not trained"
        self.window.show_status(f"Opened {name}: {len(session.data)} points{net}.")
        self.opened.emit(filename)

    def _fail(self, message: str) -> None:
        self.window.show_error(message)
        self.failed.emit(message)

    # ------------------------------------------------------------ start screen

    def show_start_screen(self) -> None:
        """The first-launch dialog (non-modal): a gallery session or an empty canvas."""
        from flowviz.gui.sessions.start_screen import StartScreen

        if self._closed or self.start_screen is not None:
            return
        lessons = self.window.extensions.get("lessons")
        lesson = getattr(getattr(lessons, "lesson", None), "title", None)
        dialog = StartScreen(
            [(p, gallery_title(p), _description(p)) for p in gallery_files()],
            self.window,
            lesson=lesson,
        )
        dialog.chosen.connect(self.open_session)
        if lesson:
            dialog.start_lesson.connect(lambda: lessons.go(0))
        dialog.start_drawing.connect(self.start_drawing)
        dialog.finished.connect(self._on_start_closed)
        self.start_screen = dialog
        dialog.show()

    def _on_start_closed(self, _result: int = 0) -> None:
        self.settings.setValue(START_KEY, True)
        self.start_screen = None

    def start_drawing(self) -> None:
        """An empty canvas with the brush: the user draws the data (one undoable step)."""
        if not self._core_ready:
            self._after_core.append(self.start_drawing)
            return
        patch = {"data": EMPTY, "origin": "drawn", "selected": -1}
        self.window.undo.push(SessionEdit.of(self.state, patch, "Start drawing"))
        self.window.tools.set_tool("brush")
        self.window.show_status("Draw the data: press and drag on a view with the brush (B).")

    # ------------------------------------------------------------ window events

    def _training(self):
        return getattr(self.window, "extensions", {}).get("training")

    def _on_core_ready(self) -> None:
        self._core_ready = True
        pending, self._after_core = self._after_core, []
        for fn in pending:
            fn()

    def _on_closing(self) -> None:
        self._closed = True
        if self.start_screen is not None:
            self.start_screen.close()


def _read(filename: str):
    """Runs on the frame worker: (filename, Session, trained) or the exception to show."""
    try:
        session, trained = sessions.load(filename)
    except ValueError as exc:
        return exc
    except Exception as exc:  # never kill the worker; say what happened, in one line
        return ValueError(f"{Path(filename).name}: could not be opened ({type(exc).__name__})")
    return filename, session, trained


def _description(path: Path) -> str:
    try:
        return str(sessions.info(path).get("description") or "")
    except ValueError:
        return ""


def _truthy(value) -> bool:
    return value is True or str(value).lower() in ("true", "1")
