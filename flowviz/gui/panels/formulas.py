"""The Formulas dock: the current path's equations, a plot of its schedule, and their values
at the current t, so the picture on screen and the math on the board are the same thing.

Hand-set rich text (sub- and superscripts, Unicode), never TeX source, and every symbol is
defined where it appears. Time derivatives are written with a prime, α′_t = dα_t/dt: Qt's
text layout drops or misplaces a combining dot (α̇) in upright fonts.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from flowviz.render.style import Style

A, B = "α<sub>t</sub>", "β<sub>t</sub>"
DOT_A, DOT_B = "α′<sub>t</sub>", "β′<sub>t</sub>"
S_MIN = "σ<sub>min</sub>"
MIN_POINT_SIZE = 10.0  # readable at 1280x720 from the back of a room
#: (key, legend text, colour, dashed): the schedule's four curves
CURVES = (
    ("alpha", A, (30, 110, 210), False),
    ("beta", B, (230, 120, 20), False),
    ("d_alpha", DOT_A, (30, 110, 210), True),
    ("d_beta", DOT_B, (230, 120, 20), True),
)
PLOT_T = np.linspace(0.0, 1.0, 201)
Y_CLIP = 6.0  # derivatives can diverge at t = 1 (VP's β′): the plot's y range stops here


class SchedulePlot(pg.PlotWidget):
    """α_t, β_t, α′_t, β′_t over t in [0, 1] with a marker at the current t. The curves are
    computed once per path; moving the marker is one setValue and one 4-point setData."""

    def __init__(self, style: Style | None = None, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(190)
        self.setMaximumHeight(280)  # the equations around it stay in view
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setXRange(0.0, 1.0, padding=0.02)
        self.legend = plot.addLegend(offset=(6, 6), labelTextSize=f"{MIN_POINT_SIZE:g}pt")
        self.legend.setColumnCount(2)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for key, name, colour, dashed in CURVES:
            pen = pg.mkPen(colour, width=2.5 if not dashed else 2.0)
            if dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
            self.curves[key] = plot.plot(pen=pen, name=name)
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.dots = pg.ScatterPlotItem(size=8, pxMode=True)
        self.dots.setZValue(10)
        plot.addItem(self.marker)
        plot.addItem(self.dots)
        self._brushes = [pg.mkBrush(c) for _, _, c, _ in CURVES]
        self.set_style(style or Style(dark=False))

    def set_style(self, style: Style) -> None:
        self.setBackground(style.background)
        font = QFont()
        font.setPointSizeF(max(font.pointSizeF(), MIN_POINT_SIZE))
        plot = self.getPlotItem()
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(style.foreground))
            axis.setTextPen(pg.mkPen(style.foreground))
            axis.setStyle(tickFont=font)
        plot.setLabel("bottom", "t", **{"font-size": f"{font.pointSizeF():g}pt"})
        self.marker.setPen(pg.mkPen((*style.foreground[:3], 140), width=1.5))
        self.dots.setPen(pg.mkPen(style.background, width=1.5))
        self.legend.setLabelTextColor(style.foreground)
        for _, label in self.legend.items:
            label.setText(label.text)  # setLabelTextColor alone does not re-render the text
        self.legend.setBrush(pg.mkBrush((*style.background[:3], 200)))

    def set_path(self, path) -> None:
        """Recompute the four curves for path (a core.paths GaussianPath)."""
        s = path.schedule(PLOT_T)
        values = {k: np.asarray(getattr(s, k), np.float64) for k in self.curves}
        for key, item in self.curves.items():
            item.setData(PLOT_T, values[key])
        inner = np.concatenate([v[PLOT_T <= 0.98] for v in values.values()])
        lo = max(min(float(inner.min()), 0.0), -Y_CLIP)
        hi = min(max(float(inner.max()), 1.0), Y_CLIP)
        self.getPlotItem().setYRange(lo, hi, padding=0.08)

    def set_t(self, path, t: float) -> None:
        """Move the marker (and the four dots on the curves) to t."""
        s = path.schedule(float(t))
        y = [float(getattr(s, k)) for k in self.curves]
        self.marker.setValue(float(t))
        self.dots.setData(x=[float(t)] * 4, y=y, brush=self._brushes)

    def marker_t(self) -> float:
        return float(self.marker.value())


class FormulaPanel(QScrollArea):
    """Follows state.path and state.source (the equations and the plot's curves) and state.t
    (their values and the plot's marker). set_shown(False) (its dock closed or a tab behind
    another) makes it idle until set_shown(True); while the animation plays, the values and
    the marker follow t at most VALUES_HZ times a second."""

    VALUES_HZ = 10

    def __init__(self, state, parent=None, *, style: Style | None = None):
        super().__init__(parent)
        self.state = state
        self.shown = False
        self.head, self.values, self.tail = _label(), _label(), _label()
        self.plot: SchedulePlot | None = None  # made when first shown: ~50 ms kept off start-up
        self._style = style
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.head)
        layout.addWidget(self.values)
        layout.addWidget(self.tail)
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

    def set_style(self, style: Style) -> None:
        self._style = style
        if self.plot is not None:
            self.plot.set_style(style)

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
        if self.plot is None:
            self.plot = SchedulePlot(self._style)
            self.widget().layout().insertWidget(1, self.plot)
        self.plot.set_path(path)
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
            if self.plot is not None:
                self.plot.set_t(self.state.path, self.state.t)


def _label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setContentsMargins(6, 0, 6, 0)
    font = label.font()
    font.setPointSizeF(max(font.pointSizeF(), MIN_POINT_SIZE))
    label.setFont(font)
    return label


def _num(v: float) -> str:
    """A value with a real minus sign."""
    return f"{v:.3f}".replace("-", "−")


def _values(path, t: float) -> str:
    s = path.schedule(float(t))
    alpha, beta, d_alpha, d_beta = (float(v) for v in (s.alpha, s.beta, s.d_alpha, s.d_beta))
    return (
        f"<p><b>At t = {t:.3f}</b>: &nbsp;{A} = {_num(alpha)}, {B} = {_num(beta)},"
        f"<br>{DOT_A} = {_num(d_alpha)}, {DOT_B} = {_num(d_beta)}</p>"
    )


def _schedule(path) -> tuple[str, str, str, str, str]:
    """(α_t, α′_t, b_t, b′_t, definitions of the path's own symbols): b_t is the base
    schedule, β_t = σ_min + (1 − σ_min) b_t."""
    name = path.name
    if name == "condot":
        return "t", "1", "1 − t", "−1", ""
    if name == "cosine":
        return (
            "sin(πt/2)",
            "(π/2) cos(πt/2)",
            "cos(πt/2)",
            "−(π/2) sin(πt/2)",
            "The quarter circle (α<sub>t</sub>, b<sub>t</sub>): α<sub>t</sub>² + "
            "b<sub>t</sub>² = 1, the variance stays 1 on the way.",
        )
    if name == "vp":
        b0, b1 = float(path.b0), float(path.b1)
        a0 = math.exp(-0.5 * (b0 + 0.5 * (b1 - b0)))
        return (
            "(a(t) − a<sub>0</sub>) / (1 − a<sub>0</sub>)",
            "a′(t) / (1 − a<sub>0</sub>)",
            f"√(1 − {A}²)",
            f"−{A} {DOT_A} / √(1 − {A}²)",
            "a(t) = exp(−½ T(1 − t)), with T(s) = b<sub>min</sub> s + "
            "½ (b<sub>max</sub> − b<sub>min</sub>) s²: the noise a diffusion adds over a time s "
            f"when its noise rate rises linearly from b<sub>min</sub> = {b0:g} to "
            f"b<sub>max</sub> = {b1:g} (Lipman et al. 2023, eq. 19).<br>"
            "a′(t) = ½ (b<sub>min</sub> + (b<sub>max</sub> − b<sub>min</sub>)(1 − t)) a(t).<br>"
            f"a<sub>0</sub> = a(0) = exp(−½ T(1)) ≈ {a0:.5f}, subtracted so that "
            "α<sub>0</sub> = 0 exactly.",
        )
    if name == "polynomial":
        n = float(path.n)
        return (
            "t<sup>n</sup>",
            "n t<sup>n−1</sup>",
            "1 − t<sup>n</sup>",
            "−n t<sup>n−1</sup>",
            f"n = {n:g}: the exponent, CondOT run on the clock t<sup>n</sup> "
            + ("(slow start, fast finish)." if n > 1 else "(fast start, slow finish)."),
        )
    f = path.formulas()  # a path this panel does not know: its plain-text formulas
    return f.alpha, "dα<sub>t</sub>/dt", f.beta, "dβ<sub>t</sub>/dt", ""


def _equations(path, *, drawn_source: bool) -> tuple[str, str]:
    """(the path and its schedule, the fields and losses): the plot and values go between."""
    alpha, d_alpha, b, d_b, symbols = _schedule(path)
    s = path.sigma_min
    if s == 0:
        beta, d_beta, width = b, d_b, ""
    else:
        beta = f"{S_MIN} + (1 − {S_MIN}) b<sub>t</sub>, &nbsp; b<sub>t</sub> = {b}"
        d_beta = f"(1 − {S_MIN}) b′<sub>t</sub>, &nbsp; b′<sub>t</sub> = {d_b}"
        width = f"{S_MIN} = {s:g}: the width kept around each data point at t = 1.<br>"
    if drawn_source:
        sample = f"x<sub>t</sub> = {A} z + b<sub>t</sub> s + {S_MIN} ε"
        where = (
            "z: a data point, s: a point of the drawn source, ε ∼ N(0, I): Gaussian noise; "
            f"b<sub>t</sub> = ({B} − {S_MIN}) / (1 − {S_MIN}) goes from 1 to 0."
        )
        conditional = f"u<sub>t</sub>(x | z, s) = {DOT_A} z + b′<sub>t</sub> s"
    else:
        sample = f"x<sub>t</sub> = {A} z + {B} ε"
        where = "z: a data point, ε ∼ N(0, I): Gaussian noise."
        conditional = f"u<sub>t</sub>(x | z) = {DOT_A} z + ({DOT_B} / {B}) (x − {A} z)"
    head = (
        f"<p><b>{path.label}</b> path, {S_MIN} = {s:g}</p>"
        f"<p>{sample}<br>{where} t = 0 is noise, t = 1 is data.</p>"
        f"<p>{A} = {alpha}<br>{B} = {beta}<br>{DOT_A} = {d_alpha}<br>{DOT_B} = {d_beta}</p>"
        f"<p>{symbols + '<br>' if symbols else ''}{width}"
        f"A prime is the time derivative: {DOT_A} = dα<sub>t</sub>/dt.</p>"
    )
    tail = (
        f"<p><b>Conditional field</b> (Conditional view)<br>{conditional}<br>"
        "the velocity that carries x along the path towards the one data point z.</p>"
        "<p><b>Marginal field</b> (Marginal view)<br>"
        "u<sub>t</sub>(x) = Σ<sub>i</sub> p(z<sub>i</sub> | x, t) u<sub>t</sub>(x | z<sub>i</sub>)"
        f"<br>p(z<sub>i</sub> | x, t) = N(x; {A} z<sub>i</sub>, {B}² I) / "
        f"Σ<sub>j</sub> N(x; {A} z<sub>j</sub>, {B}² I): the posterior weight, how likely x "
        "came from data point z<sub>i</sub> (i = 1 … N over the N data points). Hover the "
        "Marginal view to see these weights.</p>"
        "<p><b>Losses</b> (Training dock)<br>"
        "L<sub>FM</sub>(θ) = E<sub>t, x ∼ p<sub>t</sub></sub> "
        "‖v<sub>θ</sub>(x, t) − u<sub>t</sub>(x)‖²<br>"
        "L<sub>CFM</sub>(θ) = E<sub>t, z, x ∼ p<sub>t</sub>(· | z)</sub> "
        "‖v<sub>θ</sub>(x, t) − u<sub>t</sub>(x | z)‖²<br>"
        "L<sub>FM</sub>(θ) = L<sub>CFM</sub>(θ) + C, &nbsp; C = E‖u<sub>t</sub>(x)‖² − "
        "E‖u<sub>t</sub>(x | z)‖²<br>"
        "v<sub>θ</sub>: the network's velocity, t ∼ U[0, 1]. C does not depend on θ: the "
        "same gradients, so training on the tractable conditional target learns the "
        "marginal field.</p>"
    )
    return head, tail
