"""TrainingPanel: the Training dock's widgets: run buttons, hyperparameters, readouts.

It only holds values and shows numbers; the controller (gui.training) reads values() when a
run starts and writes the readouts. The buttons are QToolButtons bound to the Train menu's
actions, so each shows its shortcut in its tooltip and is enabled with its action.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from flowviz.gui.views.learned_view import ERROR_TIP, SOLVERS

ACTIVATIONS = ("silu", "relu", "tanh", "gelu", "elu")  # as core.model.ACTIVATIONS (no torch)
COUPLINGS = {
    "independent": "independent (I-CFM)",
    "ot": "minibatch OT",
    "sinkhorn": "Sinkhorn (entropic OT)",
}
PATHS = {"condot": "CondOT", "cosine": "Cosine", "vp": "VP (diffusion)", "polynomial": "Polynomial"}
FOLLOW = ""  # the path box's "follow the window" entry


@dataclass(frozen=True)
class Hyper:
    """The panel's values (no torch needed): steps None = run until stopped; path FOLLOW
    = the window's path selector; device "auto" | "cpu" | "cuda" | "mps"."""

    width: int = 128
    depth: int = 3
    activation: str = "silu"
    lr: float = 2e-3
    batch_size: int = 256
    steps: int | None = 3000
    coupling: str = "independent"
    path: str = FOLLOW
    seed: int = 0
    device: str = "auto"


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


class TrainingPanel(QWidget):
    """values() -> Hyper; set_values(Hyper); the readout labels; changed when a value
    changes (the controller says when it applies)."""

    changed = Signal()

    def __init__(self, actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 4)
        buttons = QGridLayout()
        buttons.setSpacing(3)
        self.buttons: dict[str, QToolButton] = {}
        for i, key in enumerate(("train", "pause", "resume", "step", "stop", "reset")):
            b = QToolButton(self)
            b.setDefaultAction(actions[key])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(b, i // 3, i % 3)
            self.buttons[key] = b
        outer.addLayout(buttons)

        self.width_box = self._spin(4, 1024, 128, "Hidden units per layer of the MLP v_θ", 16)
        self.depth_box = self._spin(1, 8, 3, "Hidden layers of the MLP v_θ")
        self.activation_box = self._combo({a: a for a in ACTIVATIONS}, "Activation function")
        self.lr_box = LogSpinBox(1e-6, 1e9, self)
        self.lr_box.setValue(2e-3)
        self.lr_box.setToolTip(
            "Adam learning rate (cosine-decayed to 0 over the steps). Too large and the loss "
            "diverges: the run stops and keeps the last finite weights."
        )
        self.lr_box.valueChanged.connect(lambda *_: self.changed.emit())
        self.batch_box = self._spin(2, 8192, 256, "Pairs (z, x_0, t) per optimizer step", 64)
        self.steps_box = self._spin(0, 1_000_000, 3000, "", 500)
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
        self.seed_box = self._spin(0, 2**31 - 1, 0, "Seed of the initial weights and batches")
        self.device_box = QComboBox(self)
        self.device_box.addItem("auto", "auto")
        self.device_box.setToolTip(
            "Where the network trains: auto picks CUDA, then Apple MPS, else the CPU"
        )
        self.device_box.currentIndexChanged.connect(lambda *_: self.changed.emit())
        net = QGridLayout()
        net.setVerticalSpacing(3)
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
        outer.addWidget(_heading("Network and training"))
        outer.addLayout(net)

        self.solver_box = QComboBox(self)
        self.solver_box.addItems(SOLVERS)
        self.solver_box.setCurrentText("midpoint")
        self.solver_box.setToolTip(
            "ODE solver moving the Learned view's particles with v_θ: euler (1 network call "
            "per step), midpoint (2), rk4 (4)"
        )
        self.solver_steps_box = QSpinBox(self)
        self.solver_steps_box.setRange(1, 500)
        self.solver_steps_box.setValue(20)
        self.solver_steps_box.setKeyboardTracking(False)
        self.solver_steps_box.setToolTip(
            "Solver steps from t = 0 to 1. Few steps show the discretisation error: the "
            "particles overshoot and land off the data."
        )
        self.error_box = QCheckBox("error map |v_θ − u_t|", self)
        self.error_box.setChecked(True)
        self.error_box.setToolTip(ERROR_TIP)
        view = QGridLayout()
        view.setVerticalSpacing(3)
        view.setColumnStretch(1, 1)
        view.setColumnStretch(3, 1)
        _grid(view, [("solver", self.solver_box, "steps", self.solver_steps_box)])
        view.addWidget(self.error_box, 1, 0, 1, 4)
        outer.addWidget(_heading("Learned view"))
        outer.addLayout(view)

        outer.addWidget(_heading("Progress"))
        self.progress = QLabel("Not trained yet.")
        self.losses = QLabel("")
        self.quality = QLabel("")
        self.quality.setToolTip(
            "Sliced Wasserstein distance between samples of the current network (integrated "
            "from t = 0 to 1) and the data. Floor: what a perfect sampler of these points "
            "scores (the data against resamples of itself)."
        )
        for w in (self.progress, self.losses, self.quality):
            w.setTextFormat(Qt.TextFormat.RichText)
            w.setWordWrap(True)
            outer.addWidget(w)
        outer.addStretch(1)

    def sizeHint(self) -> QSize:
        return QSize(330, super().sizeHint().height())

    def _spin(self, lo: int, hi: int, value: int, tip: str, step: int = 1) -> QSpinBox:
        box = QSpinBox(self)
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setValue(value)
        box.setToolTip(tip)
        box.valueChanged.connect(lambda *_: self.changed.emit())
        return box

    def _combo(self, items: dict[str, str], tip: str) -> QComboBox:
        box = QComboBox(self)
        for value, text in items.items():
            box.addItem(text, value)
        box.setToolTip(tip)
        box.currentIndexChanged.connect(lambda *_: self.changed.emit())
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

    def values(self) -> Hyper:
        steps = self.steps_box.value()
        return Hyper(
            width=self.width_box.value(),
            depth=self.depth_box.value(),
            activation=self.activation_box.currentData(),
            lr=self.lr_box.value(),
            batch_size=self.batch_box.value(),
            steps=steps or None,
            coupling=self.coupling_box.currentData(),
            path=self.path_box.currentData(),
            seed=self.seed_box.value(),
            device=self.device_box.currentData(),
        )

    def set_values(self, h: Hyper) -> None:
        """Show h (e.g. a loaded checkpoint's config) without emitting changed per field."""
        widgets = (
            (self.width_box, h.width),
            (self.depth_box, h.depth),
            (self.lr_box, h.lr),
            (self.batch_box, h.batch_size),
            (self.steps_box, h.steps or 0),
            (self.seed_box, h.seed),
        )
        combos = (
            (self.activation_box, h.activation),
            (self.coupling_box, h.coupling),
            (self.path_box, h.path),
            (self.device_box, h.device),
        )
        for w, _ in (*widgets, *combos):
            w.blockSignals(True)
        for w, v in widgets:
            w.setValue(v)
        for w, v in combos:
            i = w.findData(v)
            if i >= 0:
                w.setCurrentIndex(i)
        for w, _ in (*widgets, *combos):
            w.blockSignals(False)
        self.changed.emit()


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setContentsMargins(0, 6, 0, 0)
    return label


def _grid(grid: QGridLayout, rows) -> None:
    """Rows of (label, widget[, label, widget]); a lone pair spans the row."""
    for r, row in enumerate(rows):
        grid.addWidget(QLabel(row[0]), r, 0)
        grid.addWidget(row[1], r, 1, 1, 1 if len(row) > 2 else 3)
        if len(row) > 2:
            grid.addWidget(QLabel(row[2]), r, 2)
            grid.addWidget(row[3], r, 3)
