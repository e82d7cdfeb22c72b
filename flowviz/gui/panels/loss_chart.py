"""LossChart: the CFM loss and the exact FM loss on one log axis, and their difference.

The seed proves L_FM(theta) = L_CFM(theta) + C with C independent of theta: both curves
fall together and the lower plot, L_FM - L_CFM, stays flat while they do. Every label on
screen is rich text (L<sub>FM</sub>), never a literal underscore. Raw per-batch
values are drawn faint, exponential moving averages bold (a per-batch gap is noisy; its
average is the constant). With a minibatch OT (or Sinkhorn) coupling the network is trained
towards the OT-coupled field while L_FM stays measured against the independent marginal,
so the gap is then *not* constant: the chart says so.

The mouse wheel scrolls the dock the chart sits in, as over any panel; Ctrl + wheel zooms
and dragging pans, and Fit (or clear(), a new run) makes the axes follow the curves again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from flowviz.render.style import Style

EMA = 0.05  # weight of the newest report in the moving average
REDRAW_MS = 250  # the chart redraws at most 4 times a second (its axes are costly to paint)
MAX_POINTS = 20_000  # beyond this the history is halved (every other report kept)
CFM_COLOUR = (230, 120, 20)
FM_COLOUR = (30, 110, 210)
GAP_COLOUR = (150, 60, 170)
L_FM, L_CFM = "L<sub>FM</sub>", "L<sub>CFM</sub>"
GAP = f"{L_FM} − {L_CFM}"
TICK_PX = 24  # pixels per labelled tick of the log axis
MIN_POINT_SIZE = 10.0  # axis and legend text, readable at a projector
CONSTANT_TIP = (
    f"{GAP} = C: the seed's constant, E‖u<sub>t</sub>(x)‖² − E‖u<sub>t</sub>(x | z)‖², which "
    "does not depend on θ. Both losses have the same gradient, so training on the tractable "
    "CFM loss minimises the exact FM loss. Per batch the gap is noisy; its moving average is "
    "flat."
)
OT_TIP = (
    f"With a minibatch OT coupling the network learns the OT-coupled field, while {L_FM} here "
    "is measured against the independent marginal u<sub>t</sub>: the gap is no longer a "
    "constant."
)


class _LogAxis(pg.AxisItem):
    """Log-axis ticks at 1, 2, 5 x 10^k (pyqtgraph labels every minor 2..9 tick, which
    piles up in a short chart), thinned to one label per TICK_PX pixels; only the decades
    when the range spans many of them."""

    def tickValues(self, minVal, maxVal, size):
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = sorted((minVal, maxVal))
        decades = [float(k) for k in range(math.floor(lo), math.ceil(hi) + 1) if lo <= k <= hi]
        minor = [
            k + math.log10(m)
            for k in range(math.floor(lo), math.ceil(hi) + 1)
            for m in (2, 5)
            if lo <= k + math.log10(m) <= hi
        ]
        room = max(1, int(size // TICK_PX))  # labels that fit without touching
        if len(decades) >= 2 and (hi - lo > 2.5 or len(decades) + len(minor) > room):
            return [(1.0, decades), (None, minor)]
        ticks = sorted(decades + minor)
        step = math.ceil(len(ticks) / room)
        return [(1.0, ticks[::step])]


class _Graphics(pg.GraphicsLayoutWidget):
    """The plots' canvas; it asks for no more than its minimum, so in a scroll area (the
    dock's) the chart is sized to the dock's room rather than scrolled (the labels' wrapping
    makes the scroll area size the chart to its preferred height)."""

    def sizeHint(self) -> QSize:
        return self.minimumSize()


class _ChartViewBox(pg.ViewBox):
    """The wheel scrolls the dock, as over any panel; Ctrl + wheel zooms (a zoom by
    accident made new curves run off the edge, and it stuck across runs)."""

    def wheelEvent(self, ev, axis=None):
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
        else:
            ev.ignore()


class _Series:
    """Growing float64 arrays of steps, raw values and bias-corrected EMAs."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.clear()

    def clear(self) -> None:
        self.n = 0
        self.step = np.zeros(256)
        self.raw = {k: np.zeros(256) for k in self.names}
        self.ema = {k: np.zeros(256) for k in self.names}
        self._acc = dict.fromkeys(self.names, 0.0)
        self._weight = 0.0

    def append(self, step: float, values: dict[str, float]) -> None:
        if self.n == len(self.step):
            self._grow()
        self._weight = (1 - EMA) * self._weight + EMA
        self.step[self.n] = step
        for k in self.names:
            self._acc[k] = (1 - EMA) * self._acc[k] + EMA * values[k]
            self.raw[k][self.n] = values[k]
            self.ema[k][self.n] = self._acc[k] / self._weight
        self.n += 1
        if self.n > MAX_POINTS:
            self._halve()

    def _grow(self) -> None:
        size = 2 * len(self.step)
        self.step = np.resize(self.step, size)
        for d in (self.raw, self.ema):
            for k in d:
                d[k] = np.resize(d[k], size)

    def _halve(self) -> None:
        keep = np.arange(self.n)[::-2][::-1]  # every other point, always the newest
        self.n = len(keep)
        self.step[: self.n] = self.step[keep]
        for d in (self.raw, self.ema):
            for k in d:
                d[k][: self.n] = d[k][keep]


class LossChart(QWidget):
    """Feed it LossPoints with add(points); clear() for a new run."""

    def __init__(self, style: Style | None = None, parent=None):
        super().__init__(parent)
        style = style or Style(dark=False)
        self.series = _Series(("cfm", "fm", "gap"))
        self.graphics = _Graphics()
        self.graphics.setBackground(style.background)
        # Two plots of ~300 x 50 px at least with their axes: readable on a laptop, and
        # the Loss dock fits under the Training dock on a 1280 x 720 screen.
        self.graphics.setMinimumSize(300, 130)
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(
            row=0, col=0, axisItems={"left": _LogAxis("left")}, viewBox=_ChartViewBox()
        )
        self.gap_plot: pg.PlotItem = self.graphics.addPlot(row=1, col=0, viewBox=_ChartViewBox())
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        lp, gp = self.loss_plot, self.gap_plot
        lp.setLogMode(y=True)
        lp.getAxis("left").setStyle(maxTextLevel=0)
        lp.getAxis("bottom").setStyle(showValues=False)  # the gap plot's axis below says it
        gp.setXLink(lp)
        for p in (lp, gp):
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setMenuEnabled(False)
            p.hideButtons()
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            for axis in ("left", "bottom"):
                p.getAxis(axis).setPen(pg.mkPen(style.foreground))
                p.getAxis(axis).setTextPen(pg.mkPen(style.foreground))
        faint = 70
        self.cfm_raw = lp.plot(pen=pg.mkPen((*CFM_COLOUR, faint), width=1))
        self.fm_raw = lp.plot(pen=pg.mkPen((*FM_COLOUR, faint), width=1))
        self.cfm_ema = lp.plot(pen=pg.mkPen(CFM_COLOUR, width=2))
        self.fm_ema = lp.plot(pen=pg.mkPen(FM_COLOUR, width=2))
        self.gap_raw = gp.plot(pen=pg.mkPen((*GAP_COLOUR, faint), width=1))
        self.gap_ema = gp.plot(pen=pg.mkPen(GAP_COLOUR, width=2))
        self.legend = QLabel(
            " &nbsp; ".join(  # each swatch stays beside its name when the legend wraps
                f"<span style='color:{_hex(colour)}'>━━</span>&nbsp;{name}"
                for colour, name in (
                    (CFM_COLOUR, "L<sub>CFM</sub>&nbsp;conditional"),
                    (FM_COLOUR, "L<sub>FM</sub>&nbsp;exact"),
                    (GAP_COLOUR, "gap"),
                )
            )
        )
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setToolTip("Faint: each reported batch; bold: moving average")
        self.fit_button = QToolButton()
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip(
            "Show every step and loss again (the chart follows new values). Ctrl + wheel "
            "zooms the chart, dragging pans it; a new run fits it again."
        )
        self.fit_button.setEnabled(False)
        self.fit_button.setAutoRaise(True)
        # as tall as the legend's line: the chart's rows fit a 1024 x 700 screen
        self.fit_button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        self.fit_button.clicked.connect(self.fit)
        for p in (lp, gp):
            p.getViewBox().sigRangeChangedManually.connect(self._on_zoomed)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        top.addWidget(self.legend, 1)
        top.addWidget(self.fit_button)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note)
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self.set_coupling("independent")
        self.set_point_size(None)

    def set_point_size(self, points: float | None) -> None:
        """Type size of the labels, axes and legend (presenter mode's projector size);
        None: the laptop's, at least MIN_POINT_SIZE."""
        font = QFont()
        font.setPointSizeF(points or max(font.pointSizeF(), MIN_POINT_SIZE))
        size = {"font-size": f"{font.pointSizeF():g}pt"}
        self.loss_plot.setLabel("left", "loss (log)", **size)
        self.gap_plot.setLabel("left", "gap", **size)
        self.gap_plot.setLabel("bottom", "training step", **size)
        for p in (self.loss_plot, self.gap_plot):
            for axis in ("left", "bottom"):
                p.getAxis(axis).setStyle(tickFont=font)
        for w in (self.legend, self.note, self.fit_button):
            w.setFont(font)

    def sizeHint(self) -> QSize:
        return QSize(380, 380)

    def set_coupling(self, coupling: str) -> None:
        """Say whether the gap should be constant (independent coupling) or not (OT)."""
        constant = coupling == "independent"
        self.note.setText(
            f"Lower plot: {GAP} = C, flat."
            if constant
            else f"Lower plot: {GAP}, <b>not constant</b> with {coupling} coupling (the FM "
            "reference is the independent marginal)."
        )
        tip = CONSTANT_TIP if constant else OT_TIP
        for w in (self.note, self.graphics):
            w.setToolTip(tip)

    def fit(self) -> None:
        """Follow the data again on both axes (undo a zoom or pan)."""
        self.loss_plot.enableAutoRange()
        self.gap_plot.enableAutoRange(axis=pg.ViewBox.YAxis)
        self.fit_button.setEnabled(False)
        self.fit_button.setAutoRaise(True)
        # as tall as the legend's line: the chart's rows fit a 1024 x 700 screen
        self.fit_button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)

    def zoomed(self) -> bool:
        """The user zoomed or panned: the range no longer follows the data (the gap plot's
        x follows the loss plot's: it is linked, never auto-ranged itself)."""
        loss = self.loss_plot.getViewBox().autoRangeEnabled()
        gap = self.gap_plot.getViewBox().autoRangeEnabled()
        return not (loss[0] and loss[1] and gap[1])

    def _on_zoomed(self, _mask=None) -> None:
        self.fit_button.setEnabled(self.zoomed())

    def clear(self) -> None:
        """Empty the chart for a new run (its range follows the new curves)."""
        self.fit()
        self.series.clear()
        self._redraw_timer.stop()
        self._redraw()

    def add(self, points: Iterable) -> None:
        """Append LossPoints (step, cfm_loss, fm_loss); non-finite ones are skipped."""
        added = False
        for p in points:
            if np.isfinite(p.cfm_loss) and np.isfinite(p.fm_loss):
                gap = p.fm_loss - p.cfm_loss
                self.series.append(p.step, {"cfm": p.cfm_loss, "fm": p.fm_loss, "gap": gap})
                added = True
        if added and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def history(self) -> list[tuple[int, float, float]]:
        """Every kept report as (step, cfm_loss, fm_loss), oldest first (beyond MAX_POINTS
        the history was thinned): what a session file stores to redraw the chart."""
        s = self.series
        steps, cfm, fm = s.step[: s.n], s.raw["cfm"][: s.n], s.raw["fm"][: s.n]
        return [(int(a), float(b), float(c)) for a, b, c in zip(steps, cfm, fm, strict=True)]

    def latest_gap(self) -> float:
        """The smoothed L_FM - L_CFM (NaN before the first report)."""
        s = self.series
        return float(s.ema["gap"][s.n - 1]) if s.n else float("nan")

    def _redraw(self) -> None:
        s = self.series
        x = s.step[: s.n]
        tiny = 1e-12  # the log axis needs positive values
        for item, values in (
            (self.cfm_raw, s.raw["cfm"]),
            (self.fm_raw, s.raw["fm"]),
            (self.cfm_ema, s.ema["cfm"]),
            (self.fm_ema, s.ema["fm"]),
        ):
            item.setData(x, np.maximum(values[: s.n], tiny))
        self.gap_raw.setData(x, s.raw["gap"][: s.n])
        self.gap_ema.setData(x, s.ema["gap"][: s.n])


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)
