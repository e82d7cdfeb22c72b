"""MainWindow: the Conditional and Marginal views (in a row or a grid: ViewArea), the tools
to draw the data, the time bar, and the seams other panels (live training) plug into.

Torch loads on the frame worker after the window is shown (it takes seconds); until then
the views are empty and the status bar says so. core_ready fires when it has loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QImage,
    QImageReader,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from flowviz.core import choices, frames
from flowviz.core.layout import LAYOUTS
from flowviz.core.text import one_line
from flowviz.gui.app import theme
from flowviz.gui.app.edits import SessionEdit
from flowviz.gui.app.help import ShortcutsDialog, show_about
from flowviz.gui.app.presenter import SCALES, Presenter, SpaceAnywhere, build_bar
from flowviz.gui.app.tools import HINTS, TOOLS, CanvasTools
from flowviz.gui.app.window_api import scrolled
from flowviz.gui.panels.display import DisplayPanel
from flowviz.gui.panels.formulas import FormulaPanel
from flowviz.gui.panels.time_bar import Player, TimeBar
from flowviz.gui.state import AppState
from flowviz.gui.views.camera import Camera
from flowviz.gui.views.conditional_view import ConditionalView
from flowviz.gui.views.frame_worker import FrameWorker
from flowviz.gui.views.marginal_view import MarginalView
from flowviz.gui.views.plot_view import PlotView
from flowviz.gui.views.view_area import ViewArea
from flowviz.session import PathSpec, Session

MENUS = ("File", "Edit", "View", "Train", "Help")
POINT_FILTER = "Point sets (*.csv *.npy);;CSV (*.csv);;NumPy (*.npy)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp)"
DEFAULT_PRESET = "moons"
#: The View > Layout entries (core.layout.LAYOUTS).
LAYOUT_LABELS = {
    "auto": "&Auto (cells closest to square)",
    "row": "&Row",
    "grid": "&Grid",
}


def _load_core():
    """Runs on the worker: import torch and the math core, return the preset names."""
    from flowviz.core import data, exact, paths  # noqa: F401 (warm the imports)

    return list(data.PRESETS)


class MainWindow(QMainWindow):
    """The app window. Its extension points (the WindowSeams protocol of window_api, what
    the training controller and other panels code against):

    state: AppState (the Session and its change signals). worker: the shared FrameWorker.
    undo: the QUndoStack (edits are SessionEdits). style_: the current render Style.
    add_view(key, title, view): a view in the view area (key one of choices.VIEWS: its
        visibility is the Session's `views`); a PlotView is also a canvas on the camera.
    add_dock(dock, area, tab_with=None); menu(name) -> QMenu for File, Edit, View, Train,
        Help; show_status(text); show_error(text).
    closing: emitted first thing in closeEvent, so owners of workers stop them; the window
        then stops and joins its own. core_ready: the math core has loaded.
    settings: a QSettings (default organisation and application "flowviz").

    extensions: {name: install(window) -> object}, run before the layout is restored (app
    start passes {"training": install_training}), so their docks and views take their
    remembered places; window.extensions[name] is what install returned.
    """

    closing = Signal()
    core_ready = Signal()

    def __init__(self, settings: QSettings | None = None, parent=None, *, extensions=None):
        super().__init__(parent)
        self.setWindowTitle("flowviz — flow matching, drawn")
        self.settings = settings or QSettings("flowviz", "flowviz")
        self.state = AppState(self)
        self.state.notice.connect(self.show_status)
        self.style_ = theme.current_style()
        self.worker = FrameWorker(self)
        self.worker.failed.connect(lambda msg: self.show_status(f"Frame failed: {msg}"))
        self.undo = QUndoStack(self)
        self.tools = CanvasTools(self.state, self)
        self.tools.stroke_finished.connect(self._on_stroke)
        self.player = Player(self.state, self)
        self._menus: dict[str, QMenu] = {}
        self._views: dict[str, QWidget] = {}
        self._view_actions: dict[str, QAction] = {}
        self._docks: dict[str, QDockWidget] = {}
        self._preset_names: list[str] = []
        self._loads = 0  # files being read on the worker (open_points, import_image)

        self.conditional = ConditionalView(self.state, style=self.style_)
        self.marginal = MarginalView(self.state, worker=self.worker, style=self.style_)
        self.marginal.probed.connect(self.show_status)
        self.view_area = ViewArea()
        self.time_bar = TimeBar(self.state, self.player)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view_area, 1)
        layout.addWidget(self.time_bar)
        self.setCentralWidget(central)
        self.camera = Camera(self.state, self)
        self._build_menus()
        self.add_view("conditional", "Conditional", self.conditional)
        self.add_view("marginal", "Marginal", self.marginal)
        self._build_tool_bar()
        self.display_panel = DisplayPanel(self.state)
        dock = QDockWidget("Display", self)
        dock.setObjectName("display_dock")
        dock.setWidget(scrolled(self.display_panel))
        self.add_dock(dock, Qt.DockWidgetArea.RightDockWidgetArea)
        self.formula_panel = FormulaPanel(self.state)
        formulas = QDockWidget("Formulas", self)
        formulas.setObjectName("formulas_dock")
        formulas.setWidget(self.formula_panel)
        formulas.visibilityChanged.connect(self.formula_panel.set_shown)
        self.add_dock(formulas, Qt.DockWidgetArea.RightDockWidgetArea, tab_with="display_dock")
        dock.raise_()
        self.extensions = {name: install(self) for name, install in (extensions or {}).items()}
        self.presenter_bar = build_bar(self)
        self.tools.tool_changed.connect(self._on_tool_changed)
        self.state.session_changed.connect(self._on_session_changed)
        self._restore_settings()
        self.show_status("Loading the math core (torch)…")
        self.worker.start()
        self.worker.submit(_load_core, self._on_core_loaded, priority=-1)

    # ------------------------------------------------------------ seams

    def add_view(self, key: str, title: str, view: QWidget) -> None:
        """Add a view to the view area; a PlotView also becomes a drawing canvas and shares
        the camera. Its show/hide toggle in the View menu is the Session's views."""
        view.setObjectName(f"view_{key}")
        self.view_area.add(view)
        self._views[key] = view
        if isinstance(view, PlotView):
            self.tools.attach(view)
            self.camera.attach(view.plot.getViewBox())
        a = QAction(f"Show {title}", self, checkable=True, checked=True)
        a.toggled.connect(lambda on, k=key: self._show_view(k, on))
        self.menu("View").addAction(a)
        self._view_actions[key] = a
        self._sync_views()

    def add_dock(
        self,
        dock: QDockWidget,
        area=Qt.DockWidgetArea.RightDockWidgetArea,
        *,
        tab_with: str | None = None,
    ) -> None:
        """Add a dock (give it an objectName so its place is remembered), as a tab beside
        the dock named tab_with when given."""
        self.addDockWidget(area, dock)
        self._docks[dock.objectName()] = dock
        if tab_with in self._docks:
            self.tabifyDockWidget(self._docks[tab_with], dock)
        self.menu("View").addAction(dock.toggleViewAction())

    def menu(self, name: str) -> QMenu:
        """The menu called name (File, Edit, View, Train, Help; others are created)."""
        if name not in self._menus:
            self._menus[name] = self.menuBar().addMenu(f"&{name}")
        return self._menus[name]

    def view(self, key: str) -> QWidget | None:
        return self._views.get(key)

    def show_status(self, text: str) -> None:
        """One line in the status bar (core.text.one_line: file-controlled text is shown
        plain, on one line, shortened)."""
        self.statusBar().showMessage(one_line(text))

    def show_error(self, text: str) -> None:
        """Tell the user what went wrong (one place, so tests can observe it)."""
        text = one_line(text)
        self.show_status(text)
        plain_warning(self, text)

    # ------------------------------------------------------------ building

    def _action(self, menu: str, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        action.setStatusTip(tip or text)
        action.setToolTip(tip or text)
        action.triggered.connect(slot)
        self.menu(menu).addAction(action)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        for name in MENUS:
            self.menu(name)
        key = QKeySequence
        self._action("File", "&Open points…", self.open_points_dialog, key.StandardKey.Open)
        self._action("File", "&Save points…", self.save_points_dialog, key.StandardKey.Save)
        self._action(
            "File",
            "&Import image…",
            self.import_image_dialog,
            key("Ctrl+I"),
            "Sample points from the dark pixels of a PNG/JPG (a logo, a letter)",
        )
        self.menu("File").addSeparator()
        self._action("File", "&Quit", self.close, key.StandardKey.Quit)
        undo = self.undo.createUndoAction(self, "&Undo")
        undo.setShortcut(key("Ctrl+Z"))
        redo = self.undo.createRedoAction(self, "&Redo")
        redo.setShortcuts([key("Ctrl+Shift+Z"), key("Ctrl+Y")])
        for action in (undo, redo):
            self.menu("Edit").addAction(action)
            self.addAction(action)
        self._action(
            "Edit", "&Clear points", self.clear_points, key("Ctrl+Backspace"), "Remove every point"
        )
        self._action(
            "Edit",
            "Reset source to &Gaussian",
            lambda: self._edit({"source": None}, "Gaussian source"),
            tip="Use the standard Gaussian N(0, I) as the source again",
        )
        self.menu("Edit").addSeparator()
        self._tool_actions = {}
        group = QActionGroup(self)
        for tool, label, shortcut in (
            ("pick", "&Pick z", "S"),
            ("brush", "&Brush", "B"),
            ("point", "P&oint", "P"),
            ("eraser", "&Eraser", "E"),
        ):
            a = self._action("Edit", label, lambda _=False, t=tool: self.tools.set_tool(t))
            a.setShortcut(QKeySequence(shortcut))
            a.setCheckable(True)
            a.setToolTip(f"{HINTS[tool]} ({shortcut})")
            group.addAction(a)
            self._tool_actions[tool] = a
        self._action("Edit", "Smaller brush", lambda: self._scale_radius(1 / 1.25), key("["))
        self._action("Edit", "Larger brush", lambda: self._scale_radius(1.25), key("]"))
        self._action("View", "Play / pause", self.player.toggle, key(Qt.Key.Key_Space))
        self._action("View", "Step forward", lambda: self.player.step(1), key(Qt.Key.Key_Right))
        self._action("View", "Step back", lambda: self.player.step(-1), key(Qt.Key.Key_Left))
        self._display_toggles = {}
        for field, text, shortcut in (
            ("reverse", "Reverse (data → noise)", Qt.Key.Key_R),
            ("loop", "Loop", Qt.Key.Key_L),
        ):
            a = self._action("View", text, lambda on, f=field: self.state.set_display(**{f: on}))
            a.setShortcut(key(shortcut))
            a.setCheckable(True)
            self._display_toggles[field] = a
        self._action("View", "Reset zoom", self._reset_zoom, key(Qt.Key.Key_F))
        layouts = self.menu("View").addMenu("&Layout")
        group = QActionGroup(self)
        self._layout_actions = {}
        for name in LAYOUTS:
            a = layouts.addAction(LAYOUT_LABELS[name])
            a.setCheckable(True)
            a.triggered.connect(lambda _=False, n=name: self.state.set_display(layout=n))
            group.addAction(a)
            self._layout_actions[name] = a
        self.state.display_changed.connect(self._sync_display_toggles)
        self._sync_display_toggles()
        self.presenter = Presenter(self)
        self.presenter_action = self._action(
            "View",
            "&Presenter mode",
            lambda _=False: None,  # toggled does the work, also when "Leave" unchecks it
            key(Qt.Key.Key_F11),
            "Full screen, type scaled for a projector, only play, time, lesson and Train",
        )
        self.presenter_action.setCheckable(True)
        self.presenter_action.toggled.connect(self.presenter.set_on)
        scales = self.menu("View").addMenu("Presenter &scale")
        group = QActionGroup(self)
        for pct in SCALES:
            a = scales.addAction(f"{pct} %")
            a.setCheckable(True)
            a.setChecked(pct == self.presenter.scale)
            a.triggered.connect(lambda _=False, p=pct: self.presenter.set_scale(p))
            group.addAction(a)
        self.menu("View").addSeparator()
        self._action("Help", "&Keyboard shortcuts", self._show_shortcuts, key("F1"))
        self._action("Help", "&About flowviz", lambda: show_about(self))
        self.space = SpaceAnywhere(self)

    def _show_view(self, key: str, on: bool) -> None:
        if key not in choices.VIEWS:
            self._views[key].setVisible(on)
            return
        views = self.state.session.views
        self.state.update(views=(*views, key) if on else tuple(v for v in views if v != key))

    def _sync_views(self) -> None:
        shown = self.state.session.views
        for key, view in self._views.items():
            if key not in choices.VIEWS:  # a view the Session does not know: always shown
                continue
            view.setVisible(key in shown)
            a = self._view_actions[key]
            a.blockSignals(True)
            a.setChecked(key in shown)
            a.blockSignals(False)

    def _build_tool_bar(self) -> None:
        """Two tool bars, drawing (tools, brush, what is drawn) and data (preset, count,
        path): side by side where the window is wide enough, else on two lines
        (_fit_tool_bars), so no control hides in an overflow menu."""
        bar = self.tools_bar = QToolBar("Drawing", self)
        bar.setObjectName("tools_bar")
        self.addToolBar(bar)
        self.data_bar = QToolBar("Data and path", self)
        self.data_bar.setObjectName("data_bar")
        self.addToolBar(self.data_bar)
        for action in self._tool_actions.values():
            bar.addAction(action)
        self.radius = QDoubleSpinBox(minimum=0.02, maximum=2.0, singleStep=0.05, decimals=2)
        self.radius.setToolTip("Brush and eraser radius in data units ([ and ])")
        self.radius.valueChanged.connect(lambda v: setattr(self.tools, "radius", v))
        self.density = QSpinBox(minimum=10, maximum=5000, singleStep=50)
        self.density.setSuffix(" pts/s")
        self.density.setToolTip("Brush density: points sprayed per second of pressing")
        self.density.valueChanged.connect(lambda v: setattr(self.tools, "density", float(v)))
        self.draw_target = QComboBox()
        self.draw_target.addItem("Draw target (data)", "target")
        self.draw_target.addItem("Draw source (noise)", "source")
        self.draw_target.setToolTip(
            "Which distribution the tools edit: the data (t = 1) or the source (t = 0)"
        )
        self.draw_target.currentIndexChanged.connect(self._on_draw_target)
        self.preset = QComboBox()
        self.preset.setToolTip("Replace the data with a preset (undoable)")
        self.preset.activated.connect(lambda _i: self.load_preset())
        self.count = QSpinBox(minimum=10, maximum=20000, singleStep=250)
        self.count.setToolTip("Points in a preset or an image import")
        self.count.setKeyboardTracking(False)
        self.count.valueChanged.connect(lambda v: self.state.update(count=v))
        self.path_box = QComboBox()
        self.path_box.setToolTip("The probability path: how noise moves to data")
        for name, label in choices.PATHS.items():
            self.path_box.addItem(label, name)
        self.path_box.currentIndexChanged.connect(lambda _i: self._apply_path())
        self.sigma = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.01, decimals=3)
        self.sigma.setToolTip("σ_min: width kept at t = 1 (needed > 0 for a drawn source)")
        self.sigma.setKeyboardTracking(False)
        self.sigma.valueChanged.connect(lambda _v: self._apply_path())
        self.poly_n = QDoubleSpinBox(minimum=0.25, maximum=8.0, singleStep=0.25, decimals=2)
        self.poly_n.setToolTip("Exponent n of the polynomial path α_t = t^n (1: CondOT)")
        self.poly_n.setKeyboardTracking(False)
        self.poly_n.valueChanged.connect(lambda _v: self._apply_path())
        for box in (self.draw_target, self.preset, self.path_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never cut
        for label, w in (
            ("radius", self.radius),
            ("density", self.density),
            (None, self.draw_target),
            ("preset", self.preset),
            (None, self.count),
            ("path", self.path_box),
            ("n", self.poly_n),
            ("σ_min", self.sigma),
        ):
            if label == "preset":
                bar = self.data_bar
            elif label == "path" or w is self.draw_target:
                bar.addSeparator()
            actions = [bar.addWidget(QLabel(f" {label} "))] if label else []
            actions.append(bar.addWidget(w))
            if w is self.poly_n:
                self.poly_n_actions = actions  # shown only for the polynomial path
                for action in actions:
                    action.setVisible(False)

    # ------------------------------------------------------------ core loading

    def _on_core_loaded(self, presets) -> None:
        self._preset_names = presets
        self.preset.blockSignals(True)
        self.preset.addItems(presets)
        self.preset.blockSignals(False)
        self.state.set_core_ready()
        if not len(self.state.data):
            origin = self.state.session.origin
            self.load_preset(origin if origin in presets else DEFAULT_PRESET, undoable=False)
        self._sync_tool_bar()
        self.show_status(self._restore_note or HINTS[self.tools.tool])
        self._restore_note = ""
        self.core_ready.emit()
        self.player.play(True)

    # ------------------------------------------------------------ data actions

    def _edit(self, after: dict, label: str, *, undoable: bool = True) -> None:
        """Apply a Session patch, as one undoable step unless told otherwise."""
        if undoable:
            self.undo.push(SessionEdit.of(self.state, after, label))
        else:
            self.state.update(**after)

    def _points_patch(self, which: str, points, origin: str) -> dict:
        """The patch that puts points in the set being drawn (the data also gets a typical
        z selected, and its origin named)."""
        if which == "source":
            return {"source": points if points is not None and len(points) else None}
        return {"data": points, "origin": origin, "selected": frames.typical_point(points)}

    def _on_stroke(self, which, before, after, label) -> None:
        from flowviz.core import limits

        s = self.state.session
        try:
            n_data = len(after) if which == "target" else len(s.data)
            src = after if which == "source" else s.source
            limits.check_pairs(n_data, None if src is None else len(src))
        except ValueError as exc:  # the stroke is dropped: the fields would not fit
            self.show_status(f"Stroke not added: {exc}")
            for view in self._views.values():  # drop the stroke's preview
                if isinstance(view, PlotView):
                    view.show_points()
            return
        patch = {"source": after} if which == "source" else {"data": after, "origin": "drawn"}
        old = {"source": before if len(before) else None}
        if which == "target":
            s = self.state.session
            old = {"data": before, "origin": s.origin, "selected": s.selected}
            if not 0 <= s.selected < len(after):  # no z yet (a fresh canvas): pick one
                patch["selected"] = frames.typical_point(after)
        self.undo.push(SessionEdit(self.state, old, patch, label))

    def load_preset(self, name: str | None = None, *, undoable: bool = True) -> None:
        """Replace the data with a preset (default: the tool bar's) at the chosen count."""
        from flowviz.core import data, limits

        name = name or self.preset.currentText()
        source = self.state.session.source
        try:
            limits.check_pairs(self.state.session.count, None if source is None else len(source))
        except ValueError as exc:
            self.show_error(f"Preset {name}: {exc}")
            return
        pts = data.preset(name, self.state.session.count, seed=0).numpy()
        self._edit(self._points_patch("target", pts, name), f"Preset {name}", undoable=undoable)

    def clear_points(self) -> None:
        which = self.tools.target
        empty = np.zeros((0, 2), np.float32)
        self._edit(self._points_patch(which, empty, "drawn"), f"Clear {which}")
        self.show_status(f"Cleared the {which}. Draw with the brush (B) or pick a preset.")

    def open_points(self, filename: str) -> None:
        """Load a CSV / .npy point set into the set being drawn, read and checked on the
        frame worker (a 1M-row file takes seconds: the window keeps answering); on a bad
        file show the problem in one line and leave the data untouched."""
        which = self.tools.target
        s = self.state.session
        other = len(s.data) if which == "source" else len(s.source if s.source is not None else ())

        def read():
            from flowviz.core import data, limits
            from flowviz.session import frozen_points

            pts = frozen_points(data.load_points(filename).numpy())
            limits.check_pairs(*((other, len(pts)) if which == "source" else (len(pts), other)))
            return pts, self._points_patch(which, pts, Path(filename).name)

        def apply(result) -> None:
            pts, patch = result
            name = Path(filename).name
            self._edit(patch, f"Open {name}")
            self.show_status(f"Loaded {len(pts)} points from {name}.")

        self._load_in_background(filename, read, apply)

    def loading(self) -> bool:
        """A file is being read for open_points or import_image (what tests wait on)."""
        return self._loads > 0

    def _load_in_background(self, filename: str, read, apply) -> None:
        """Run read() (file reading and checking: nothing heavy on the UI thread) on the
        frame worker ahead of frames, saying "Loading NAME…" meanwhile; apply(result) on
        the UI thread when it arrives, or show the one-line problem naming the file (any
        exception: a bad file must never reach the event loop as a traceback)."""
        name = Path(filename).name

        def job():
            try:
                return read()
            except MemoryError:
                return ValueError(f"{name}: too large to load into memory")
            except Exception as exc:  # data's ValueErrors name the file; anything else too
                text = " ".join(str(exc).split()) or type(exc).__name__
                return ValueError(text if text.startswith(name) else f"{name}: {text}")

        def done(result) -> None:
            self._loads -= 1
            if isinstance(result, Exception):
                self.show_error(str(result))
            else:
                apply(result)

        self._loads += 1
        self.show_status(f"Loading {name}…")
        self.worker.submit(job, done, priority=-0.9, alive=self.worker.isRunning)

    def save_points(self, filename: str) -> bool:
        from flowviz.core import data

        try:
            data.save_points(filename, self.state.points(self.tools.target))
        except (ValueError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self.show_status(f"Saved to {filename}.")
        return True

    def import_image(self, filename: str) -> None:
        """Sample points from the dark pixels of an image into the set being drawn; read
        on the frame worker, downscaled while reading (a huge image is never decoded at
        full size where the format allows, else it is refused as too large)."""
        which, count = self.tools.target, self.state.session.count
        name = Path(filename).name

        def read():
            gray = _read_grayscale(filename)
            pts = frames.image_points(gray, n=count, rng=np.random.default_rng(0))
            return pts, self._points_patch(which, pts, name)

        def apply(result) -> None:
            pts, patch = result
            self._edit(patch, f"Import {name}")
            self.show_status(f"Imported {len(pts)} points from {name}.")

        self._load_in_background(filename, read, apply)

    def open_points_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open points", "", POINT_FILTER)
        if name:
            self.open_points(name)

    def save_points_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save points", "points.csv", POINT_FILTER)
        if name:
            self.save_points(name)

    def import_image_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import image", "", IMAGE_FILTER)
        if name:
            self.import_image(name)

    # ------------------------------------------------------------ settings slots

    def _apply_path(self) -> None:
        """The tool bar's path widgets changed: patch the Session's path."""
        spec = PathSpec(
            name=self.path_box.currentData(), sigma_min=self.sigma.value(), n=self.poly_n.value()
        )
        if spec != self.state.session.path:
            self.state.update(path=spec)
            if self.state.path is not None:
                self.show_status(self.state.path.describe())

    def _on_session_changed(self, changed: frozenset[str]) -> None:
        if changed & {"path", "count", "origin"}:
            self._sync_tool_bar()
        if "views" in changed:
            self._sync_views()

    def _sync_tool_bar(self) -> None:
        """Show the Session's path, count and data origin in the tool bar."""
        s = self.state.session
        for widget, value in (
            (self.path_box, None),
            (self.sigma, s.path.sigma_min),
            (self.poly_n, s.path.n),
            (self.count, s.count),
        ):
            with QSignalBlocker(widget):  # unblocked even if a value is refused
                if value is None:
                    widget.setCurrentIndex(max(0, widget.findData(s.path.name)))
                else:
                    widget.setValue(value)
        for action in self.poly_n_actions:
            action.setVisible(s.path.name == "polynomial")
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(self.preset.findText(s.origin))  # -1: not a preset
            self.preset.setPlaceholderText(one_line(s.origin or "drawn", 40))
        self._fit_tool_bars()

    def _fit_tool_bars(self) -> None:
        """Put the data bar on a line of its own when both bars do not fit in one."""
        bars = (self.tools_bar, self.data_bar)
        top = Qt.ToolBarArea.TopToolBarArea
        if any(self.toolBarArea(b) != top for b in bars):
            return  # the user moved one: leave their arrangement
        need = sum(b.sizeHint().width() for b in bars) + 8  # hints include handles; 8: slack
        if need > self.width() and not self.toolBarBreak(self.data_bar):
            self.insertToolBarBreak(self.data_bar)
        elif need <= self.width() and self.toolBarBreak(self.data_bar):
            self.removeToolBarBreak(self.data_bar)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_tool_bars()

    def _on_draw_target(self) -> None:
        self.tools.target = self.draw_target.currentData()
        self.show_status(
            "Drawing the source: t = 0 starts here."
            if self.tools.target == "source"
            else "Drawing the data: t = 1 ends here."
        )

    def _on_tool_changed(self, tool: str) -> None:
        self._tool_actions[tool].setChecked(True)
        self.show_status(HINTS[tool])

    def _scale_radius(self, factor: float) -> None:
        self.radius.setValue(self.radius.value() * factor)

    def _reset_zoom(self) -> None:
        self.camera.reset()

    def _show_shortcuts(self) -> None:
        ShortcutsDialog(list(self._menus.values()), self).exec()

    def _sync_display_toggles(self) -> None:
        """Show the Session's display in the View menu's toggles and the view layout."""
        d = self.state.display
        for field, a in self._display_toggles.items():
            a.blockSignals(True)
            a.setChecked(getattr(d, field))
            a.blockSignals(False)
        # not blocked: the exclusive group unchecks the others (triggered, the patch, stays)
        self._layout_actions[d.layout].setChecked(True)
        self.view_area.set_choice(d.layout)

    def views(self) -> list[QWidget]:
        return list(self._views.values())

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.presenter.on:
            self.presenter_action.setChecked(False)
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------ persistence, theme, close

    def _restore_settings(self) -> None:
        """Window layout, tool settings and the Session without its points (the data is
        the remembered preset, made when the math core has loaded)."""
        s = self.settings
        geometry = s.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self._fit_screen()
        state = s.value("windowState")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        problems = []
        radius = _stored_number(s, "tools/radius", 0.25, 0.02, 2.0, problems)
        self.radius.setValue(radius)
        self.density.setValue(int(_stored_number(s, "tools/density", 300, 10, 5000, problems)))
        tool = str(s.value("tools/tool", "brush"))
        self.tools.set_tool(tool if tool in TOOLS else "brush")
        saved = s.value("session")
        session = Session(origin=DEFAULT_PRESET)
        if saved:
            try:
                session = Session.from_dict(json.loads(str(saved)), base=session)
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                problems.append(str(exc))  # malformed JSON too: start from the defaults
        self.state.replace(session.patch(t=0.0))
        try:
            self._sync_tool_bar()
        except (ValueError, TypeError, OverflowError) as exc:  # a value no widget can show
            problems.append(str(exc))
            self.state.replace(Session(origin=DEFAULT_PRESET))
            self._sync_tool_bar()
        self._sync_views()
        # Said once, when the window is ready (the next close saves good values instead).
        self._restore_note = problems and f"Settings not restored (defaults used): {problems[0]}"

    def _fit_screen(self) -> None:
        """First launch: 1500 x 820, or what the screen has room for (a 1280 x 720
        projector, a 4K laptop with scaling), centred."""
        screen = self.screen() or QApplication.primaryScreen()
        area = screen.availableGeometry()
        w = min(1500, int(area.width() * 0.96))
        h = min(820, int(area.height() * 0.92))
        self.resize(w, h)
        self.move(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2)

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("tools/radius", self.radius.value())
        s.setValue("tools/density", self.density.value())
        s.setValue("tools/tool", self.tools.tool)
        s.setValue("session", json.dumps(self.state.session.to_dict(points=False)))
        s.sync()

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.style_ = theme.current_style()
            for view in self._views.values():
                if isinstance(view, PlotView):
                    view.set_style(self.style_)
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        """Ask about unsaved work (the app's keeper, gui.app.autosave: Cancel keeps the
        window); emit closing (other workers stop), save settings, stop and join threads."""
        keeper = self.extensions.get("keeper")
        if keeper is not None and not keeper.may_close():
            event.ignore()
            return
        self.closing.emit()
        self.presenter.set_on(False)
        self.space.close()
        self.player.play(False)
        self._save_settings()
        for view in self._views.values():
            if isinstance(view, PlotView):
                view.shutdown()
        self.worker.stop()
        super().closeEvent(event)


def _stored_number(settings, key: str, default: float, lo: float, hi: float, problems) -> float:
    """A remembered number within [lo, hi], else default (the problem noted once)."""
    raw = settings.value(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        value = float("nan")
    if not lo <= value <= hi:  # NaN fails too
        problems.append(f"{key} {one_line(raw, 40)!s} is not a number from {lo} to {hi}")
        return default
    return value


def plain_warning(parent: QWidget, text: str) -> None:
    """A warning box that shows text as plain text: file-controlled text (a name with
    thousands of nested tags) is never parsed as rich text, which can crash Qt."""
    if QApplication.instance() is None:
        return
    box = QMessageBox(QMessageBox.Icon.Warning, "flowviz", text, QMessageBox.StandardButton.Ok)
    box.setParent(parent, box.windowFlags())
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


#: Pixels an image may have where its format cannot downscale while reading: Qt decodes it
#: whole, and refuses beyond its allocation limit (256 MB, 4 bytes a pixel).
MAX_IMAGE_PIXELS = 64 * 2**20
MAX_SIDE = 400  # the grayscale grid sampled (finer adds nothing to a few thousand points)


def _read_grayscale(filename: str) -> np.ndarray:
    """Read an image at most MAX_SIDE pixels across (scaled while decoding), any thread.
    -> (h, w) in [0, 1]; ValueError naming the file when unreadable or too large."""
    name = Path(filename).name
    reader = QImageReader(filename)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid():
        raise ValueError(f"{name}: not a readable image ({reader.errorString()})")
    w, h = size.width(), size.height()
    if max(w, h) > MAX_SIDE:
        reader.setScaledSize(size.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        if w * h > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"{name}: too large ({w} × {h} pixels; at most {MAX_IMAGE_PIXELS / 1e6:.0f} "
                "megapixels in this format: scale it down first)"
            )
        raise ValueError(f"{name}: not a readable image ({reader.errorString()})")
    return _grayscale(image)


def _grayscale(image: QImage, max_side: int = MAX_SIDE) -> np.ndarray:
    """QImage -> (h, w) float array in [0, 1] (transparent counts as white)."""
    if max(image.width(), image.height()) > max_side:
        image = image.scaled(
            max_side,
            max_side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h, stride = rgba.width(), rgba.height(), rgba.bytesPerLine()
    buf = np.frombuffer(rgba.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    px = buf[:, : 4 * w].reshape(h, w, 4).astype(np.float64) / 255.0
    lum = px[..., :3] @ np.array([0.299, 0.587, 0.114])
    alpha = px[..., 3]
    return lum * alpha + (1 - alpha)
