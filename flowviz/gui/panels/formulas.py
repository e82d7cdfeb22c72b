"""The Formulas dock: the current path's equations and their values at the current t, so
the picture on screen and the math on the board are the same thing."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

DOT_A, DOT_B = "α′<sub>t</sub>", "β′<sub>t</sub>"  # d/dt, as a prime: Qt misplaces dots
A, B = "α<sub>t</sub>", "β<sub>t</sub>"


class FormulaPanel(QScrollArea):
    """Follows state.path and state.source (the equations) and state.t (their values).
    set_shown(False) (its dock closed or a tab behind another) makes it idle until
    set_shown(True); while the animation plays, the values follow t at most VALUES_HZ
    times a second."""

    VALUES_HZ = 10

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.shown = False
        self.head, self.values, self.tail = _label(), _label(), _label()
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        for label in (self.head, self.values, self.tail):
            layout.addWidget(label)
        layout.addStretch(1)
        self.setWidget(box)
        self.setWidgetResizable(True)
        self._values_timer = QTimer(self, singleShot=True, interval=1000 // self.VALUES_HZ)
        self._values_timer.timeout.connect(self._show_values)
        state.path_changed.connect(self._refresh)
        state.source_changed.connect(self._refresh)
        state.time_changed.connect(self._on_time_changed)

    def text(self) -> str:
        return self.head.text() + self.values.text() + self.tail.text()

    def set_shown(self, shown: bool) -> None:
        self.shown = shown
        self._refresh()

    def _refresh(self) -> None:
        if not self.shown:
            return
        path = self.state.path
        if path is None:
            self.head.setText("<i>Loading the math core…</i>")
            return
        head, tail = _equations(path, drawn_source=self.state.source is not None)
        self.head.setText(head)
        self.tail.setText(tail)
        self._show_values()

    def _on_time_changed(self, _t: float) -> None:
        if not self.shown or self.state.path is None:
            return
        if not self.state.playing:
            self._show_values()
        elif not self._values_timer.isActive():
            self._values_timer.start()

    def _show_values(self) -> None:
        if self.state.path is not None:
            self.values.setText(_values(self.state.path, self.state.t))


def _label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setContentsMargins(6, 0, 6, 0)
    return label


def _values(path, t: float) -> str:
    s = path.schedule(float(t))
    alpha, beta, d_alpha, d_beta = (float(v) for v in (s.alpha, s.beta, s.d_alpha, s.d_beta))
    return (
        f"<p><b>at t = {t:.3f}</b>: &nbsp;{A} = {alpha:.3f}, {B} = {beta:.3f}<br>"
        f"{DOT_A} = {d_alpha:.3f}, {DOT_B} = {d_beta:.3f}</p>"
    )


def _equations(path, *, drawn_source: bool) -> tuple[str, str]:
    """(the path and its schedule, the fields and losses): the values at t go between."""
    f = path.formulas()
    if drawn_source:
        sample = f"x<sub>t</sub> = {A} z + b<sub>t</sub> s + σ<sub>min</sub> ε"
        source = "s from the drawn source, b<sub>t</sub> = (β<sub>t</sub> − σ<sub>min</sub>)"
        source += " / (1 − σ<sub>min</sub>)"
        conditional = f"u<sub>t</sub>(x | z, s) = {DOT_A} z + b′<sub>t</sub> s"
    else:
        sample = f"x<sub>t</sub> = {A} z + {B} ε"
        source = "ε ~ N(0, I), z a data point"
        conditional = f"u<sub>t</sub>(x | z) = {DOT_A} z + ({DOT_B} / {B}) (x − {A} z)"
    head = (
        f"<p><b>{path.label}</b> path, σ<sub>min</sub> = {path.sigma_min:g}</p>"
        f"<p>{sample}<br><small>{source}</small></p>"
        f"<p>{A} = {f.alpha}<br>{B} = {f.beta}</p>"
    )
    tail = (
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
    return head, tail
