"""TrainingPanel: the Training dock's widgets: run buttons, hyperparameters, readouts.

Its settings are bound both ways to the Session (training settings and the Learned view's
options): each widget patches its own field, and the Session's changes are shown; so a
loaded checkpoint's values are kept exactly even where a widget's range is narrower. The
ranges are core.limits', the command line's: what one accepts, the other shows. The
controller (gui.training) starts runs from the Session and writes the readouts here. The
buttons are QToolButtons bound to the Train menu's actions, so each shows its shortcut in its
tooltip and is enabled with its action.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from flowviz.core import limits
from flowviz.core.choices import ACTIVATIONS, COUPLINGS, PATHS, SOLVERS
from flowviz.gui.views.learned_view import ERROR_TIP
from flowviz.session import FOLLOW, TrainSettings


class LogSpinBox(QDoubleSpinBox):
    """A positive number shown as 2e-3 and stepped along 1, 2, 5, 10, ... (a learning rate
    spans decades, so a linear spin box is useless)."""

    def __init__(self, lo: float, hi: float, parent=None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(lo, hi)

    def textFromValue(self, value: float) -> str:
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text, pos):
        from PySide6.QtGui import QValidator

        try:
            v = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= v <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:
        ladder = (1.0, 2.0, 5.0)
        v = self.value()
        e = math.floor(math.log10(v))
        mant = v / 10**e
        i = min(range(3), key=lambda j: abs(ladder[j] - mant))
        k = 3 * e + i + steps
        self.setValue(ladder[k % 3] * 10 ** (k // 3))


class SeedBox(QDoubleSpinBox):
    """A whole number from 0 to 2**32 - 1 (a QSpinBox stops at 2**31 - 1, and setting a
    larger seed from a checkpoint raised OverflowError). Doubles hold these exactly."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(0)
        self.setRange(limits.SEED.lo, limits.SEED.hi)
        self.setGroupSeparatorShown(False)

    def seed(self) -> int:
        return int(self.value())


class TrainingPanel(QWidget):
    """The run buttons, the settings bound to state.session.training and .learned, and the
    readout labels; changed: the user changed a training setting (the controller says when
    it applies)."""

    changed = Signal()

    def __init__(self, state, actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        self.state = state
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 2, 6, 2)
        outer.setSpacing(3)
        buttons = QGridLayout()
        buttons.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        for i, key in enumerate(("train", "pause", "resume", "step", "stop", "reset")):
            b = QToolButton(self)
            b.setDefaultAction(actions[key])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(b, i // 3, i % 3)
            self.buttons[key] = b
        outer.addLayout(buttons)

        self.width_box = self._spin(limits.WIDTH, 128, "Hidden units per layer of the MLP v_θ", 16)
        self.depth_box = self._spin(limits.DEPTH, 3, "Hidden layers of the MLP v_θ")
        self.activation_box = self._combo({a: a for a in ACTIVATIONS}, "Activation function")
        self.lr_box = LogSpinBox(limits.LR.lo, limits.LR.hi, self)
        self.lr_box.setValue(2e-3)
        self.lr_box.setToolTip(
            "Adam learning rate (cosine-decayed to 0 over the steps). Too large and the loss "
            "diverges: the run stops and keeps the last finite weights."
        )
        self.lr_box.setKeyboardTracking(False)
        self.batch_box = self._spin(limits.BATCH_SIZE, 256, "", 64)
        self.batch_box.setToolTip(
            f"Pairs (z, x₀, t) per optimizer step: up to {limits.BATCH_SIZE.hi}, "
            f"{limits.COUPLED_BATCH_SIZE.hi} with an OT or Sinkhorn coupling (n² memory)"
        )
        steps = limits.Range("steps", 0, limits.STEPS.hi, integer=True)  # 0: until stopped
        self.steps_box = self._spin(steps, 3000, "", 500)
        self.steps_box.setSpecialValueText("until stopped")
        self.steps_box.setToolTip("Optimizer steps per run (0: run until stopped)")
        self.coupling_box = self._combo(
            COUPLINGS,
            "How noise x_0 is paired with data z in a batch: independently (the seed's CFM), "
            "or by minibatch optimal transport (straighter paths)",
        )
        self.path_box = self._combo(
            {FOLLOW: "as the tool bar", **PATHS},
            "Probability path trained on; by default the one chosen in the tool bar",
        )
        self.seed_box = SeedBox(self)
        self.seed_box.setToolTip(f"Seed of the initial weights and batches (0 to {limits.SEED.hi})")
        self.seed_box.setKeyboardTracking(False)
        self.device_box = QComboBox(self)
        self.device_box.addItem("auto", "auto")
        self.device_box.setToolTip(
            "Where the network trains: auto picks CUDA, then Apple MPS, else the CPU"
        )
        net = QGridLayout()
        net.setVerticalSpacing(2)
        net.setColumnStretch(1, 1)
        net.setColumnStretch(3, 1)
        _grid(
            net,
            [
                ("width", self.width_box, "depth", self.depth_box),
                ("activation", self.activation_box, "seed", self.seed_box),
                ("lr", self.lr_box, "batch", self.batch_box),
                ("steps", self.steps_box, "device", self.device_box),
                ("coupling", self.coupling_box),
                ("path", self.path_box),
            ],
        )
        outer.addWidget(_rule())
        outer.addLayout(net)

        self.solver_box = self._combo({s: s for s in SOLVERS}, "")
        self.solver_box.setToolTip(
            "ODE solver moving the Learned view's particles with v_θ: euler (1 network call "
            "per step), midpoint (2), rk4 (4)"
        )
        self.solver_steps_box = self._spin(limits.SOLVER_STEPS, 20, "")
        self.solver_steps_box.setToolTip(
            "Solver steps from t = 0 to 1. Few steps show the discretisation error: the "
            "particles overshoot and land off the data."
        )
        self.error_box = QCheckBox("Error map: the network against the exact field", self)
        self.error_box.setToolTip(ERROR_TIP)
        view = QGridLayout()
        view.setVerticalSpacing(2)
        view.setColumnStretch(1, 1)
        view.setColumnStretch(3, 1)
        _grid(view, [("solver", self.solver_box, "steps", self.solver_steps_box)])
        view.addWidget(self.error_box, 1, 0, 1, 4)
        outer.addWidget(_heading("Learned view"))
        outer.addLayout(view)

        outer.addWidget(_rule())
        self.progress = QLabel("Not trained yet.")
        self.losses = QLabel("")
        self.warning = QLabel("")
        self.warning.setToolTip(
            "The loss grew by orders of magnitude during the run: the learning rate is "
            "probably too high (the run goes on; only NaN stops it)"
        )
        self.warning.setVisible(False)
        self.quality = QLabel("")
        self.quality.setToolTip(
            "Sliced Wasserstein distance (SWD) between samples of the current network "
            "(integrated from t = 0 to 1) and the data, as a multiple of the floor: what a "
            "perfect sampler of this path scores (the exact flow ends on the data blurred by "
            "N(0, σ_min² I)). ±: the range a perfect sampler's readout falls in (two standard "
            "deviations); within 1 ± that, the samples cannot be told from perfect."
        )
        for w in (self.progress, self.losses, self.warning, self.quality):
            w.setTextFormat(Qt.TextFormat.RichText)
            w.setWordWrap(True)
            outer.addWidget(w)
        outer.addStretch(1)
        self._training = {
            "width": self.width_box,
            "depth": self.depth_box,
            "activation": self.activation_box,
            "lr": self.lr_box,
            "batch_size": self.batch_box,
            "steps": self.steps_box,
            "coupling": self.coupling_box,
            "path": self.path_box,
            "seed": self.seed_box,
            "device": self.device_box,
        }
        self._learned = {
            "solver": self.solver_box,
            "steps": self.solver_steps_box,
            "error_map": self.error_box,
        }
        for part, widgets in (("training", self._training), ("learned", self._learned)):
            for key, widget in widgets.items():
                _changed(widget).connect(lambda *_, p=part, k=key: self._on_widget(p, k))
        state.training_changed.connect(self.sync)
        state.learned_changed.connect(self.sync)
        self.sync()

    def sizeHint(self) -> QSize:
        return QSize(330, super().sizeHint().height())

    def _spin(self, bounds: limits.Range, value: int, tip: str, step: int = 1) -> QSpinBox:
        box = QSpinBox(self)
        box.setRange(int(bounds.lo), int(bounds.hi))
        box.setSingleStep(step)
        box.setValue(value)
        box.setToolTip(tip)
        box.setKeyboardTracking(False)
        return box

    def _combo(self, items: dict[str, str], tip: str) -> QComboBox:
        box = QComboBox(self)
        for value, text in items.items():
            box.addItem(text, value)
        box.setToolTip(tip)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never cut
        return box

    def set_devices(self, names: list[str], auto: str) -> None:
        """Offer "auto (<what it picks>)" and each present device."""
        box = self.device_box
        current = box.currentData()
        box.blockSignals(True)
        box.clear()
        box.addItem(f"auto ({auto})", "auto")
        for name in names:
            box.addItem(name, name)
        box.setCurrentIndex(max(0, box.findData(current)))
        box.blockSignals(False)

    def show_warning(self, text: str | None) -> None:
        """Show (or with None, hide) the run's loss-growth warning under the losses."""
        from html import escape

        self.warning.setText(f"<b>Warning:</b> {escape(text)}" if text else "")
        self.warning.setVisible(bool(text))

    def values(self) -> TrainSettings:
        """The Session's training settings (what the next run uses)."""
        return self.state.session.training

    def _on_widget(self, part: str, key: str) -> None:
        value = _value(getattr(self, f"_{part}")[key])
        changes = {key: value}
        if part == "training" and key == "steps":
            changes[key] = value or None  # 0: until stopped
        if part == "training" and key == "coupling":
            # The user chose the coupling: a batch too large for it is brought into range
            # in the same patch (an OT coupling's n x n cost matrix bounds the batch).
            batch = limits.batch_size_range(value)
            size = self.state.session.training.batch_size
            if not batch.contains(size):
                changes["batch_size"] = int(batch.clamp(size))
        self.state.update(**{part: changes})
        if part == "training":
            self.changed.emit()

    def sync(self) -> None:
        """Show the Session's training settings and Learned-view options (never writing
        back: a value outside a widget's range stays in the Session as it is)."""
        s = self.state.session
        batch = limits.batch_size_range(s.training.coupling)
        self.batch_box.blockSignals(True)
        self.batch_box.setMaximum(int(batch.hi))
        self.batch_box.blockSignals(False)
        for part, widgets in (("training", self._training), ("learned", self._learned)):
            values = getattr(s, part)
            for key, widget in widgets.items():
                value = getattr(values, key)
                if part == "training" and key == "steps":
                    value = value or 0
                widget.blockSignals(True)
                _show(widget, value)
                widget.blockSignals(False)


#: Events after which a panel may want another height (a readout's new line, new type).
_RELAYOUT = (QEvent.Type.LayoutRequest, QEvent.Type.FontChange, QEvent.Type.Show)


class WholeHeight(QObject):
    """Keeps a scroll area at least as tall as its widget wants (at most cap pixels), so
    the dock holding it shows every row unscrolled where the screen has room: a 720p
    screen shows the whole Training panel, and the Loss dock below takes what is left.
    Follows the widget as its readouts gain or lose lines."""

    def __init__(self, area: QScrollArea, cap: int = 480):
        super().__init__(area)
        self.area, self.cap = area, cap
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.fit)
        area.widget().installEventFilter(self)
        self.fit()

    def fit(self) -> None:
        want = self.area.widget().sizeHint().height() + 2 * self.area.frameWidth()
        if self.area.minimumHeight() != min(want, self.cap):
            self.area.setMinimumHeight(min(want, self.cap))

    def eventFilter(self, obj, event) -> bool:
        if event.type() in _RELAYOUT:  # fitted once the change has been laid out
            self._timer.start()
        return False


def _changed(widget):
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    return widget.valueChanged


def _value(widget):
    if isinstance(widget, QComboBox):
        return widget.currentData()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, SeedBox):
        return widget.seed()
    return widget.value()


def _show(widget, value) -> None:
    if isinstance(widget, QComboBox):
        i = widget.findData(value)
        if i >= 0:
            widget.setCurrentIndex(i)
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    else:
        widget.setValue(value)


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setContentsMargins(0, 2, 0, 0)  # slim: the dock must fit a 720p screen unscrolled
    return label


def _rule() -> QFrame:
    """A thin line between the settings and the readouts (a heading costs a row)."""
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def _grid(grid: QGridLayout, rows) -> None:
    """Rows of (label, widget[, label, widget]); a lone pair spans the row."""
    for r, row in enumerate(rows):
        grid.addWidget(QLabel(row[0]), r, 0)
        grid.addWidget(row[1], r, 1, 1, 1 if len(row) > 2 else 3)
        if len(row) > 2:
            grid.addWidget(QLabel(row[2]), r, 2)
            grid.addWidget(row[3], r, 3)
