"""MainWindow: the Conditional and Marginal views side by side, the tools to draw the data,
the time bar, and the seams other panels (live training) plug into.

Torch loads on the frame worker after the window is shown (it takes seconds); until then
the views are empty and the status bar says so. core_ready fires when it has loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QImage, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from flowviz.core.frames import LIM
from flowviz.gui.app import theme
from flowviz.gui.app.edits import ReplacePoints
from flowviz.gui.app.tools import HINTS, TOOLS, CanvasTools
from flowviz.gui.panels.display import DisplayPanel
from flowviz.gui.panels.formulas import FormulaPanel
from flowviz.gui.panels.time_bar import Player, TimeBar
from flowviz.gui.state import AppState
from flowviz.gui.training.controller import install_training
from flowviz.gui.views.camera import Camera
from flowviz.gui.views.conditional_view import ConditionalView
from flowviz.gui.views.frame_worker import FrameWorker
from flowviz.gui.views.marginal_view import MarginalView
from flowviz.gui.views.plot_view import PlotView

MENUS = ("File", "Edit", "View", "Train", "Help")
POINT_FILTER = "Point sets (*.csv *.npy);;CSV (*.csv);;NumPy (*.npy)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp)"
DEFAULT_PRESET, DEFAULT_COUNT = "moons", 1000


def _load_core():
    """Runs on the worker: import torch and the math core, return the preset names."""
    from flowviz.core import data, exact, paths  # noqa: F401 (warm the imports)

    return list(data.PRESETS), list(paths.NAMES)


class MainWindow(QMainWindow):
    """The app window. Seams (kept stable for other panels):

    state: AppState (data, source, path, t; data_changed, source_changed, path_changed,
        time_changed(float)). worker: the shared FrameWorker (pass it to new FieldViews).
    add_view(title, view): a panel beside Conditional and Marginal, sharing t; a PlotView
        is also camera-linked. link_view(plot_item): link any pyqtgraph PlotItem's axes.
    add_dock(dock, area); menu(name) -> QMenu for File, Edit, View, Train, Help;
        show_status(text).
    closing: emitted first thing in closeEvent, so owners of workers stop them; the window
        then stops and joins its own. core_ready: the math core has loaded.
    settings: a QSettings (default organisation and application "flowviz").
    """

    closing = Signal()
    core_ready = Signal()

    def __init__(self, settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("flowviz — flow matching, drawn")
        self.settings = settings or QSettings("flowviz", "flowviz")
        self.state = AppState(self)
        # Connected before any view: a drawn source gets sigma_min > 0 before views see it.
        self.state.source_changed.connect(self._on_source_changed)
        self.style_ = theme.current_style()
        self.worker = FrameWorker(self)
        self.worker.failed.connect(lambda msg: self.show_status(f"Frame failed: {msg}"))
        self.undo = QUndoStack(self)
        self.tools = CanvasTools(self.state, self)
        self.tools.stroke_finished.connect(self._on_stroke)
        self.player = Player(self.state, self)
        self._menus: dict[str, QMenu] = {}
        self._views: list[QWidget] = []
        self._preset_names: list[str] = []

        self.conditional = ConditionalView(self.state, style=self.style_)
        self.marginal = MarginalView(self.state, worker=self.worker, style=self.style_)
        self.marginal.probed.connect(self.show_status)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.time_bar = TimeBar(self.state, self.player)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.time_bar)
        self.setCentralWidget(central)
        self.camera = Camera(LIM, self)
        self.add_view("Conditional", self.conditional)
        self.add_view("Marginal", self.marginal)

        self._build_menus()
        self._build_tool_bar()
        self.display_panel = DisplayPanel(self.state)
        dock = QDockWidget("Display", self)
        dock.setObjectName("display_dock")
        dock.setWidget(self.display_panel)
        self.add_dock(dock, Qt.DockWidgetArea.RightDockWidgetArea)
        self.formula_panel = FormulaPanel(self.state)
        formulas = QDockWidget("Formulas", self)
        formulas.setObjectName("formulas_dock")
        formulas.setWidget(self.formula_panel)
        formulas.visibilityChanged.connect(self.formula_panel.set_shown)
        self.add_dock(formulas, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(dock, formulas)
        dock.raise_()
        # The Learned view, Training and Loss docks, Train menu (before the layout restore).
        self.training = install_training(self)
        self.tools.tool_changed.connect(self._on_tool_changed)
        self._restore_settings()
        self.show_status("Loading the math core (torch)…")
        self.worker.start()
        self.worker.submit(_load_core, self._on_core_loaded, priority=-1)

    # ------------------------------------------------------------ seams

    def add_view(self, title: str, view: QWidget) -> None:
        """Add a panel beside the others; a PlotView also becomes a drawing canvas and
        shares the camera. It gets a show/hide toggle in the View menu."""
        view.setObjectName(f"view_{title.lower()}")
        self.splitter.addWidget(view)
        self._views.append(view)
        if isinstance(view, PlotView):
            self.tools.attach(view)
            self.link_view(view.plot)
        if "View" in self._menus:
            self._add_view_toggle(title, view)

    def link_view(self, plot_item) -> None:
        """Share the camera (pan/zoom) of a pyqtgraph PlotItem with the other views."""
        self.camera.attach(plot_item.getViewBox())

    def add_dock(self, dock: QDockWidget, area=Qt.DockWidgetArea.RightDockWidgetArea) -> None:
        """Add a dock (give it an objectName so its place is remembered)."""
        self.addDockWidget(area, dock)
        self.menu("View").addAction(dock.toggleViewAction())

    def menu(self, name: str) -> QMenu:
        """The menu called name (File, Edit, View, Train, Help; others are created)."""
        if name not in self._menus:
            self._menus[name] = self.menuBar().addMenu(f"&{name}")
        return self._menus[name]

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def show_error(self, text: str) -> None:
        """Tell the user what went wrong (one place, so tests can observe it)."""
        self.show_status(text)
        QMessageBox.warning(self, "flowviz", text)

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
            lambda: self._replace("source", None, "Gaussian source"),
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
        self._action(
            "View", "Reverse (data → noise)", self.time_bar.reverse.toggle, key(Qt.Key.Key_R)
        )
        self._action("View", "Loop", self.time_bar.loop.toggle, key(Qt.Key.Key_L))
        self._action("View", "Reset zoom", self._reset_zoom, key(Qt.Key.Key_F))
        self.menu("View").addSeparator()
        for view in self._views:
            self._add_view_toggle(view.objectName().removeprefix("view_").title(), view)
        self._action("Help", "&Shortcuts", self._show_shortcuts, key.StandardKey.HelpContents)
        self._action("Help", "&About flowviz", self._show_about)

    def _add_view_toggle(self, title: str, view: QWidget) -> None:
        a = QAction(f"Show {title}", self, checkable=True, checked=True)
        a.toggled.connect(view.setVisible)
        self.menu("View").addAction(a)

    def _build_tool_bar(self) -> None:
        bar = QToolBar("Tools", self)
        bar.setObjectName("tools_bar")
        self.addToolBar(bar)
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
        self.path_box = QComboBox()
        self.path_box.setToolTip("The probability path: how noise moves to data")
        self.path_box.currentIndexChanged.connect(lambda _i: self._apply_path())
        self.sigma = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.01, decimals=3)
        self.sigma.setToolTip("σ_min: width kept at t = 1 (needed > 0 for a drawn source)")
        self.sigma.setKeyboardTracking(False)
        self.sigma.valueChanged.connect(lambda _v: self._apply_path())
        self.poly_n = QDoubleSpinBox(minimum=0.25, maximum=8.0, singleStep=0.25, decimals=2)
        self.poly_n.setToolTip("Exponent n of the polynomial path α_t = t^n (1: CondOT)")
        self.poly_n.setKeyboardTracking(False)
        self.poly_n.valueChanged.connect(lambda _v: self._apply_path())
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
            if label == "preset" or label == "path" or w is self.draw_target:
                bar.addSeparator()
            actions = [bar.addWidget(QLabel(f" {label} "))] if label else []
            actions.append(bar.addWidget(w))
            if w is self.poly_n:
                self.poly_n_actions = actions  # shown only for the polynomial path
                for action in actions:
                    action.setVisible(False)

    # ------------------------------------------------------------ core loading

    def _on_core_loaded(self, names) -> None:
        presets, path_names = names
        from flowviz.core import paths

        self._preset_names = presets
        self.preset.blockSignals(True)
        self.preset.addItems(presets)
        self.preset.setCurrentText(self.settings.value("preset", DEFAULT_PRESET))
        self.preset.blockSignals(False)
        self.path_box.blockSignals(True)
        for name in path_names:
            self.path_box.addItem(paths.make(name).label, name)
        self.path_box.setCurrentIndex(
            max(0, self.path_box.findData(self.settings.value("path", "condot")))
        )
        self.path_box.blockSignals(False)
        self._apply_path()
        self.load_preset(undoable=False)
        self.state.set_selected(_central_point(self.state.data))
        self.show_status(HINTS[self.tools.tool])
        self.core_ready.emit()
        self.player.play(True)

    # ------------------------------------------------------------ data actions

    def _replace(self, which: str, points, label: str, undoable: bool = True) -> None:
        before = self.state.points(which)
        if which == "source" and self.state.source is None:
            before = None
        if undoable:
            self.undo.push(ReplacePoints(self.state, which, before, points, label))
        else:
            self.state.set_points(which, points)

    def _on_stroke(self, which, before, after, label) -> None:
        if which == "source" and len(before) == 0:
            before = None
        self.undo.push(ReplacePoints(self.state, which, before, after, label))

    def load_preset(self, *, undoable: bool = True) -> None:
        """Replace the data with the chosen preset at the chosen count."""
        from flowviz.core import data

        name = self.preset.currentText()
        pts = data.preset(name, self.count.value(), seed=0).numpy()
        self._replace("target", pts, f"Preset {name}", undoable)
        self.state.set_selected(_central_point(self.state.data))

    def clear_points(self) -> None:
        which = self.tools.target
        self._replace(which, np.zeros((0, 2), np.float32), f"Clear {which}")
        self.show_status(f"Cleared the {which}. Draw with the brush (B) or pick a preset.")

    def open_points(self, filename: str) -> bool:
        """Load a CSV / .npy point set into the set being drawn; on a bad file show the
        problem and leave the data untouched."""
        from flowviz.core import data

        try:
            pts = data.load_points(filename).numpy()
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        self._replace(self.tools.target, pts, f"Open {Path(filename).name}")
        self.show_status(f"Loaded {len(pts)} points from {Path(filename).name}.")
        return True

    def save_points(self, filename: str) -> bool:
        from flowviz.core import data

        try:
            data.save_points(filename, self.state.points(self.tools.target))
        except (ValueError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self.show_status(f"Saved to {filename}.")
        return True

    def import_image(self, filename: str) -> bool:
        """Sample points from the dark pixels of an image into the set being drawn."""
        from flowviz.core import frames

        image = QImage(filename)
        if image.isNull():
            self.show_error(f"{Path(filename).name}: not a readable image")
            return False
        gray = _grayscale(image)
        try:
            pts = frames.image_points(gray, n=self.count.value(), rng=np.random.default_rng(0))
        except ValueError as exc:
            self.show_error(f"{Path(filename).name}: {exc}")
            return False
        self._replace(self.tools.target, pts, f"Import {Path(filename).name}")
        self.state.set_selected(_central_point(self.state.data))
        return True

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
        name = self.path_box.currentData()
        if name is None:
            return
        from flowviz.core import paths

        sigma = self.sigma.value()
        if self.state.source is not None and sigma <= 0:
            sigma = 0.05
            self.sigma.blockSignals(True)
            self.sigma.setValue(sigma)
            self.sigma.blockSignals(False)
            self.show_status("A drawn source needs σ_min > 0: set σ_min = 0.05.")
        for action in self.poly_n_actions:
            action.setVisible(name == "polynomial")
        path = paths.make(name, sigma_min=sigma, n=self.poly_n.value())
        self.state.set_path(path)
        self.show_status(path.describe())

    def _on_source_changed(self) -> None:
        path = self.state.path
        if self.state.source is not None and path is not None and path.sigma_min <= 0:
            self._apply_path()

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
        QMessageBox.information(
            self,
            "Shortcuts",
            "Space play/pause · ←/→ step · R reverse · L loop · F reset zoom\n"
            "S pick z · B brush · P point · E eraser · [ ] brush radius\n"
            "Ctrl+Z undo · Ctrl+Shift+Z redo · Ctrl+O open · Ctrl+S save · Ctrl+I image",
        )

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About flowviz",
            "flowviz shows flow matching: the marginal field u_t(x) is the average of the\n"
            "conditional fields u_t(x|z), weighted by the posterior p(z|x,t).",
        )

    # ------------------------------------------------------------ persistence, theme, close

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 820)
        state = s.value("windowState")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        splitter = s.value("splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        d = self.state.display
        self.state.set_display(
            arrows=str(s.value("display/arrows", d.arrows)),
            heat=str(s.value("display/heat", d.heat)),
            arrow_res=int(s.value("display/arrow_res", d.arrow_res)),
            particles=int(s.value("display/particles", d.particles)),
            trails=int(s.value("display/trails", d.trails)),
            show_data=_bool(s.value("display/show_data", d.show_data)),
        )
        self.radius.setValue(float(s.value("tools/radius", 0.25)))
        self.density.setValue(int(s.value("tools/density", 300)))
        self.count.setValue(int(s.value("count", DEFAULT_COUNT)))
        self.sigma.setValue(float(s.value("sigma_min", 0.0)))
        self.poly_n.setValue(float(s.value("poly_n", 2.0)))
        self.time_bar.speed.setValue(float(s.value("speed", 1.0)))
        self.time_bar.loop.setChecked(_bool(s.value("loop", True)))
        tool = str(s.value("tools/tool", "brush"))
        self.tools.set_tool(tool if tool in TOOLS else "brush")

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("windowState", self.saveState())
        s.setValue("splitter", self.splitter.saveState())
        d = self.state.display
        for key in ("arrows", "heat", "arrow_res", "particles", "trails", "show_data"):
            s.setValue(f"display/{key}", getattr(d, key))
        s.setValue("tools/radius", self.radius.value())
        s.setValue("tools/density", self.density.value())
        s.setValue("tools/tool", self.tools.tool)
        s.setValue("count", self.count.value())
        s.setValue("sigma_min", self.sigma.value())
        s.setValue("poly_n", self.poly_n.value())
        s.setValue("speed", self.time_bar.speed.value())
        s.setValue("loop", self.time_bar.loop.isChecked())
        if self.preset.currentText():
            s.setValue("preset", self.preset.currentText())
        if self.path_box.currentData():
            s.setValue("path", self.path_box.currentData())
        s.sync()

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.style_ = theme.current_style()
            for view in self._views:
                if isinstance(view, PlotView):
                    view.set_style(self.style_)
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        """Emit closing (other workers stop), save settings, stop and join our threads."""
        self.closing.emit()
        self.player.play(False)
        self._save_settings()
        for view in self._views:
            if isinstance(view, PlotView):
                view.shutdown()
        self.worker.stop()
        super().closeEvent(event)


def _bool(value) -> bool:
    return value in (True, "true", "1", 1)


def _central_point(points: np.ndarray) -> int:
    """A data point at the 70th percentile of distance from the mean: a typical z, on the
    shape rather than hidden in its middle, and not an outlier."""
    if not len(points):
        return -1
    d = np.linalg.norm(points - points.mean(0), axis=1)
    return int(np.argmin(np.abs(d - np.percentile(d, 70))))


def _grayscale(image: QImage, max_side: int = 400) -> np.ndarray:
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
