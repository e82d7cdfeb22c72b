"""The Display dock: how fields and particles are drawn (bound to state.display)."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QSpinBox, QWidget

ARROWS = {
    "length": "Arrows, length = speed",
    "colour": "Arrows, colour = speed",
    "streamlines": "Streamlines",
    "off": "No field",
}
HEAT = {"density": "Density p_t", "speed": "Speed |u_t|", "off": "None"}


class DisplayPanel(QWidget):
    """Each control writes one Display field; state changes flow back into the controls."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        form = QFormLayout(self)
        self.arrows = self._combo(ARROWS, "arrows", "How the velocity field is drawn")
        self.heat = self._combo(
            HEAT, "heat", "Background: the density p_t (Conditional: p_t(x|z)) or the speed"
        )
        self.arrow_res = self._spin(8, 48, "arrow_res", "Arrows per side of the grid")
        self.particles = self._spin(
            0, 100_000, "particles", "Particles flowing under the marginal field", step=1000
        )
        self.trails = self._spin(0, 30, "trails", "Trail length in time steps (0: no trails)")
        self.show_data = QCheckBox("Show data points")
        self.show_data.setToolTip("Draw the target (and a drawn source) on every view")
        self.show_data.toggled.connect(lambda on: state.set_display(show_data=on))
        form.addRow("Field", self.arrows)
        form.addRow("Heatmap", self.heat)
        form.addRow("Grid", self.arrow_res)
        form.addRow("Particles", self.particles)
        form.addRow("Trails", self.trails)
        form.addRow(self.show_data)
        state.display_changed.connect(self.sync)
        self.sync()

    def _combo(self, items: dict[str, str], key: str, tip: str) -> QComboBox:
        box = QComboBox(self)
        for value, text in items.items():
            box.addItem(text, value)
        box.setToolTip(tip)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never cut
        box.currentIndexChanged.connect(
            lambda _i: self.state.set_display(**{key: box.currentData()})
        )
        return box

    def _spin(self, lo: int, hi: int, key: str, tip: str, step: int = 1) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda v: self.state.set_display(**{key: v}))
        return spin

    def sync(self) -> None:
        """Show the state's current Display in the controls."""
        d = self.state.display
        for box, value in ((self.arrows, d.arrows), (self.heat, d.heat)):
            box.blockSignals(True)
            box.setCurrentIndex(box.findData(value))
            box.blockSignals(False)
        for spin, value in (
            (self.arrow_res, d.arrow_res),
            (self.particles, d.particles),
            (self.trails, d.trails),
        ):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.show_data.blockSignals(True)
        self.show_data.setChecked(d.show_data)
        self.show_data.blockSignals(False)
