"""The Formulas dock: the current path's equations and their values at the current t, so
the picture on screen and the math on the board are the same thing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea

DOT_A, DOT_B = "α′<sub>t</sub>", "β′<sub>t</sub>"  # d/dt, as a prime: Qt misplaces dots
A, B = "α<sub>t</sub>", "β<sub>t</sub>"


class FormulaPanel(QScrollArea):
    """Follows state.path, state.source and state.t. While hidden (a tab behind another
    dock) it only notes that it is stale: playback changes t 60 times a second."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setMargin(6)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        for signal in (state.path_changed, state.source_changed):
            signal.connect(self._on_changed)
        state.time_changed.connect(lambda _t: self._on_changed())

    def text(self) -> str:
        return self.label.text()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._on_changed()

    def _on_changed(self) -> None:
        if not self.isVisible():
            return
        path = self.state.path
        if path is None:
            self.label.setText("<i>Loading the math core…</i>")
            return
        self.label.setText(_html(path, self.state.t, drawn_source=self.state.source is not None))


def _html(path, t: float, *, drawn_source: bool) -> str:
    f = path.formulas()
    s = path.schedule(float(t))
    alpha, beta, d_alpha, d_beta = (float(v) for v in (s.alpha, s.beta, s.d_alpha, s.d_beta))
    if drawn_source:
        sample = f"x<sub>t</sub> = {A} z + b<sub>t</sub> s + σ<sub>min</sub> ε"
        source = "s from the drawn source, b<sub>t</sub> = (β<sub>t</sub> − σ<sub>min</sub>)"
        source += " / (1 − σ<sub>min</sub>)"
        conditional = f"u<sub>t</sub>(x | z, s) = {DOT_A} z + b′<sub>t</sub> s"
    else:
        sample = f"x<sub>t</sub> = {A} z + {B} ε"
        source = "ε ~ N(0, I), z a data point"
        conditional = f"u<sub>t</sub>(x | z) = {DOT_A} z + ({DOT_B} / {B}) (x − {A} z)"
    return (
        f"<p><b>{path.label}</b> path, σ<sub>min</sub> = {path.sigma_min:g}</p>"
        f"<p>{sample}<br><small>{source}</small></p>"
        f"<p>{A} = {f.alpha}<br>{B} = {f.beta}</p>"
        f"<p>at t = {t:.3f}: &nbsp;{A} = {alpha:.3f}, {B} = {beta:.3f}<br>"
        f"{DOT_A} = {d_alpha:.3f}, {DOT_B} = {d_beta:.3f}</p>"
        f"<p><b>Conditional field</b> (Conditional view)<br>{conditional}</p>"
        "<p><b>Marginal field</b> (Marginal view)<br>"
        "u<sub>t</sub>(x) = Σ<sub>i</sub> p(z<sub>i</sub> | x, t) u<sub>t</sub>(x | z<sub>i</sub>)"
        f"<br><small>p(z<sub>i</sub> | x, t) ∝ N(x; {A} z<sub>i</sub>, {B}² I): "
        "hover the Marginal view to see these weights</small></p>"
        "<p><b>Losses</b> (Training dock)<br>"
        "L<sub>FM</sub>(θ) = E ‖v<sub>θ</sub>(x<sub>t</sub>, t) − u<sub>t</sub>(x<sub>t</sub>)‖²"
        "<br>L<sub>CFM</sub>(θ) = E ‖v<sub>θ</sub>(x<sub>t</sub>, t) − "
        "u<sub>t</sub>(x<sub>t</sub> | z)‖²<br>"
        "L<sub>FM</sub> = L<sub>CFM</sub> + C: the same gradients, so training on the "
        "conditional target learns the marginal field.</p>"
    )
