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
    """A value with a real minus sign (and ∞ for a derivative that diverges at an end)."""
    if math.isinf(v):
        return "−∞" if v < 0 else "∞"
    return f"{v:.3f}".replace("-", "−")


def _values(path, t: float) -> str:
    s = path.schedule(float(t))
    alpha, beta, d_alpha, d_beta = (float(v) for v in (s.alpha, s.beta, s.d_alpha, s.d_beta))
    if path.name == "polynomial" and path.n < 1 and t == 0:
        # n t^(n-1) is infinite at 0; the core evaluates it just above 0 to keep fields finite
        d_alpha, d_beta = math.inf, -math.inf
    limits = [
        f"{sym} = {_num(v)} is the limit as t → {t:g}"
        for sym, v in ((DOT_A, d_alpha), (DOT_B, d_beta))
        if math.isinf(v)
    ]
    note = f"<br><small>{'; '.join(limits)}.</small>" if limits else ""
    return (
        f"<p><b>At t = {t:.3f}</b>: &nbsp;{A} = {_num(alpha)}, {B} = {_num(beta)},"
        f"<br>{DOT_A} = {_num(d_alpha)}, {DOT_B} = {_num(d_beta)}{note}</p>"
    )


def _speed_note(path) -> str:
    """How the path's clock runs, read off its α′_t at the two ends (for t^n a start
    faster than the finish means n < 1, where α′_t → ∞ as t → 0)."""
    ends = path.schedule(np.array([0.0, 1.0]))
    start, finish = (float(v) for v in ends.d_alpha)
    if math.isclose(start, finish, rel_tol=1e-9):
        return f"constant speed, {DOT_A} = {finish:g} throughout: CondOT itself"
    if start < finish:
        return f"slow start, fast finish: α′<sub>0</sub> = {start:g}, α′<sub>1</sub> = {finish:g}"
    return f"fast start, slow finish: {DOT_A} → ∞ as t → 0, α′<sub>1</sub> = {finish:g}"


def _schedule(path, *, drawn_source: bool) -> tuple[str, str, str, str, str]:
    """(α_t, α′_t, b_t, b′_t, definitions of the path's own symbols): b_t is the base
    schedule, β_t = σ_min + (1 − σ_min) b_t."""
    name = path.name
    if name == "condot":
        return "t", "1", "1 − t", "−1", ""
    if name == "cosine":
        if drawn_source:
            var = (
                f"{A}² Var z + b<sub>t</sub>² Var s + {S_MIN}²: it goes from Var s + "
                f"{S_MIN}² to Var z + {S_MIN}²"
            )
        else:
            var = (
                f"{A}² Var z + {B}²: it stays 1 on the way only for data of variance 1 "
                f"and {S_MIN} = 0 (in general it goes from 1 to Var z + {S_MIN}²)"
            )
        return (
            "sin(πt/2)",
            "(π/2) cos(πt/2)",
            "cos(πt/2)",
            "−(π/2) sin(πt/2)",
            "The quarter circle (α<sub>t</sub>, b<sub>t</sub>): α<sub>t</sub>² + "
            f"b<sub>t</sub>² = 1. Per coordinate, Var x<sub>t</sub> = {var}.",
        )
    if name == "vp":
        b0, b1 = float(path.b0), float(path.b1)
        a0 = math.exp(-0.5 * (b0 + 0.5 * (b1 - b0)))
        return (
            "(a(t) − a<sub>0</sub>) / (1 − a<sub>0</sub>)",
            "a′(t) / (1 − a<sub>0</sub>)",
            f"√(1 − {A}²)",
            f"−{A} {DOT_A} / √(1 − {A}²) &nbsp;(→ −∞ as t → 1)",
            "a(t) = exp(−½ T(1 − t)), with T(s) = b<sub>min</sub> s + "
            "½ (b<sub>max</sub> − b<sub>min</sub>) s²: the noise a diffusion adds over a time s "
            f"when its noise rate rises linearly from b<sub>min</sub> = {b0:g} to "
            f"b<sub>max</sub> = {b1:g} (Lipman et al. 2023, eq. 19).<br>"
            "a′(t) = ½ (b<sub>min</sub> + (b<sub>max</sub> − b<sub>min</sub>)(1 − t)) a(t).<br>"
            f"a<sub>0</sub> = a(0) = exp(−½ T(1)) ≈ {a0:.5f}, subtracted so that "
            "α<sub>0</sub> = 0 exactly.",
        )
    if name == "polynomial":
        return (
            "t<sup>n</sup>",
            "n t<sup>n−1</sup>",
            "1 − t<sup>n</sup>",
            "−n t<sup>n−1</sup>",
            f"n = {float(path.n):g}: the exponent, CondOT run on the clock t<sup>n</sup> "
            f"({_speed_note(path)}).",
        )
    f = path.formulas()  # a path this panel does not know: its plain-text formulas
    return f.alpha, "dα<sub>t</sub>/dt", f.beta, "dβ<sub>t</sub>/dt", ""


def _path_text(path, *, drawn_source: bool) -> str:
    """The path: how x_t is drawn, its schedule, and every symbol in it."""
    alpha, d_alpha, b, d_b, symbols = _schedule(path, drawn_source=drawn_source)
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
            f"b<sub>t</sub> = ({B} − {S_MIN}) / (1 − {S_MIN}) goes from 1 to 0. "
            f"t = 0 is the drawn source blurred by {S_MIN} (x<sub>0</sub> = s + {S_MIN} ε), "
            f"t = 1 the data blurred by {S_MIN} (x<sub>1</sub> = z + {S_MIN} ε)."
        )
    else:
        sample = f"x<sub>t</sub> = {A} z + {B} ε"
        where = "z: a data point, ε ∼ N(0, I): Gaussian noise. t = 0 is the noise, t = 1 " + (
            "the data."
            if s == 0
            else f"the data blurred by {S_MIN} (x<sub>1</sub> = z + {S_MIN} ε)."
        )
    return (
        f"<p><b>{path.label}</b> path, {S_MIN} = {s:g}</p>"
        f"<p>{sample}<br>{where}</p>"
        f"<p>{A} = {alpha}<br>{B} = {beta}<br>{DOT_A} = {d_alpha}<br>{DOT_B} = {d_beta}</p>"
        f"<p>{symbols + '<br>' if symbols else ''}{width}"
        f"A prime is the time derivative: {DOT_A} = dα<sub>t</sub>/dt.</p>"
    )


def _gauss(mean: str, std: str) -> str:
    return f"N(x; {mean}, {std}² I)"


def _fields_gaussian() -> str:
    """The fields the views draw with a Gaussian source (core.marginal)."""
    k = _gauss(f"{A} z<sub>i</sub>", B)
    return (
        f"<p><b>Conditional field</b> (Conditional view)<br>"
        f"u<sub>t</sub>(x | z) = {DOT_A} z + ({DOT_B} / {B}) (x − {A} z)<br>"
        "the velocity that carries x along the path towards the one data point z.</p>"
        "<p><b>Marginal field</b> (Marginal view)<br>"
        "u<sub>t</sub>(x) = Σ<sub>i</sub> p(z<sub>i</sub> | x, t) u<sub>t</sub>(x | z<sub>i</sub>)"
        f"<br>p(z<sub>i</sub> | x, t) = {k} / Σ<sub>k</sub> {_gauss(f'{A} z<sub>k</sub>', B)}"
        ": the posterior weight, how likely x came from data point z<sub>i</sub> "
        "(i = 1 … N over the N data points). Hover the Marginal view to see these weights.<br>"
        f"p<sub>t</sub>(x) = (1/N) Σ<sub>i</sub> {k}: the density.</p>"
    )


def _fields_drawn() -> str:
    """The fields the views draw with a drawn source s_1 … s_M (core.marginal: one Gaussian
    of width σ_min per pair (z_i, s_j))."""
    pair = f"{A} z<sub>i</sub> + b<sub>t</sub> s<sub>j</sub>"
    k = _gauss(pair, S_MIN)
    one = _gauss(f"{A} z + b<sub>t</sub> s<sub>j</sub>", S_MIN)
    return (
        f"<p><b>Conditional field</b> (Conditional view, one data point z)<br>"
        f"u<sub>t</sub>(x | z) = Σ<sub>j</sub> p(s<sub>j</sub> | x, z, t) "
        f"({DOT_A} z + b′<sub>t</sub> s<sub>j</sub>)<br>"
        f"p(s<sub>j</sub> | x, z, t) = {one} / Σ<sub>l</sub> "
        f"{one.replace('<sub>j</sub>', '<sub>l</sub>')}: how likely x started from source "
        "point s<sub>j</sub> (j = 1 … M over the M source points).<br>"
        f"Each particle moves at u<sub>t</sub>(x | z, s) = {DOT_A} z + b′<sub>t</sub> s, "
        "the velocity of its own pair (z, s).</p>"
        "<p><b>Marginal field</b> (Marginal view)<br>"
        "u<sub>t</sub>(x) = Σ<sub>i, j</sub> p(z<sub>i</sub>, s<sub>j</sub> | x, t) "
        f"({DOT_A} z<sub>i</sub> + b′<sub>t</sub> s<sub>j</sub>)<br>"
        f"p(z<sub>i</sub>, s<sub>j</sub> | x, t) = {k} / Σ<sub>k, l</sub> "
        f"{_gauss(f'{A} z<sub>k</sub> + b<sub>t</sub> s<sub>l</sub>', S_MIN)}: the pair "
        "posterior, how likely x came from data point z<sub>i</sub> (i = 1 … N) and source "
        "point s<sub>j</sub> (j = 1 … M). Hover the Marginal view to see "
        "p(z<sub>i</sub> | x, t) = Σ<sub>j</sub> p(z<sub>i</sub>, s<sub>j</sub> | x, t).<br>"
        f"p<sub>t</sub>(x) = (1/(N M)) Σ<sub>i, j</sub> {k}: the density.</p>"
    )


def _losses(*, drawn_source: bool) -> str:
    if drawn_source:
        target = "u<sub>t</sub>(x | z, s)"
        draw = "t, z, s, x ∼ p<sub>t</sub>(· | z, s)"
    else:
        target, draw = "u<sub>t</sub>(x | z)", "t, z, x ∼ p<sub>t</sub>(· | z)"
    return (
        "<p><b>Losses</b> (Training dock)<br>"
        "L<sub>FM</sub>(θ) = E<sub>t, x ∼ p<sub>t</sub></sub> "
        "‖v<sub>θ</sub>(x, t) − u<sub>t</sub>(x)‖²<br>"
        f"L<sub>CFM</sub>(θ) = E<sub>{draw}</sub> ‖v<sub>θ</sub>(x, t) − {target}‖²<br>"
        "L<sub>FM</sub>(θ) = L<sub>CFM</sub>(θ) + C, &nbsp; C = E‖u<sub>t</sub>(x)‖² − "
        f"E‖{target}‖²<br>"
        "v<sub>θ</sub>: the network's velocity, t ∼ U[0, 1]. C does not depend on θ: the "
        "same gradients, so training on the tractable conditional target learns the "
        "marginal field.</p>"
    )


def _equations(path, *, drawn_source: bool) -> tuple[str, str]:
    """(the path and its schedule, the fields and losses): the plot and values go between."""
    from flowviz.core.paths import T_MAX  # path exists: torch is loaded

    fields = _fields_drawn() if drawn_source else _fields_gaussian()
    if path.sigma_min == 0:
        why = f": at t = 1, {B} = 0 and {DOT_B} / {B} is infinite away from the data"
    elif path.name == "vp":
        why = f": at t = 1 VP's {DOT_B} is −∞"
    else:
        why = ""
    clamp = f"<p><small>The fields are evaluated at min(t, {T_MAX:g}){why}.</small></p>"
    return (
        _path_text(path, drawn_source=drawn_source),
        fields + clamp + _losses(drawn_source=drawn_source),
    )
