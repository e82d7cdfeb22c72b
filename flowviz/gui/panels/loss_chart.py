"""LossChart: the CFM loss and the exact FM loss on one log axis, and their difference.

The seed proves L_FM(theta) = L_CFM(theta) + C with C independent of theta: both curves
fall together and the lower plot, L_FM - L_CFM, stays flat while they do. Every label on
screen is rich text (L<sub>FM</sub>), never a literal underscore. Raw per-batch
values are drawn faint, exponential moving averages bold (a per-batch gap is noisy; its
average is the constant). With a minibatch OT (or Sinkhorn) coupling the network is trained
towards the OT-coupled field while L_FM stays measured against the independent marginal,
so the gap is then *not* constant: the chart says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from flowviz.render.style import Style

EMA = 0.05  # weight of the newest report in the moving average
REDRAW_MS = 250  # the chart redraws at most 4 times a second (its axes are costly to paint)
MAX_POINTS = 20_000  # beyond this the history is halved (every other report kept)
CFM_COLOUR = (230, 120, 20)
FM_COLOUR = (30, 110, 210)
GAP_COLOUR = (150, 60, 170)
L_FM, L_CFM = "L<sub>FM</sub>", "L<sub>CFM</sub>"
GAP = f"{L_FM} − {L_CFM}"
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
    piles up in a short chart); only the decades when the range spans many of them."""

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
        if hi - lo <= 2.5 or len(decades) < 2:
            return [(1.0, sorted(decades + minor))]
        return [(1.0, decades), (None, minor)]


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
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(style.background)
        # Two plots of ~300 x 100 px at least (was ~230 x 80): readable at a projector while
        # adding little to the height of the right-hand dock column.
        self.graphics.setMinimumSize(300, 240)
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(
            row=0, col=0, axisItems={"left": _LogAxis("left")}
        )
        self.gap_plot: pg.PlotItem = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        lp, gp = self.loss_plot, self.gap_plot
        lp.setLogMode(y=True)
        lp.getAxis("left").setStyle(maxTextLevel=0)
        font = QFont()
        font.setPointSizeF(max(font.pointSizeF(), MIN_POINT_SIZE))
        size = {"font-size": f"{font.pointSizeF():g}pt"}
        lp.setLabel("left", "loss (log scale)", **size)
        gp.setLabel("left", GAP, **size)
        gp.setLabel("bottom", "training step", **size)
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
                p.getAxis(axis).setStyle(tickFont=font)
        faint = 70
        self.cfm_raw = lp.plot(pen=pg.mkPen((*CFM_COLOUR, faint), width=1))
        self.fm_raw = lp.plot(pen=pg.mkPen((*FM_COLOUR, faint), width=1))
        self.cfm_ema = lp.plot(pen=pg.mkPen(CFM_COLOUR, width=2))
        self.fm_ema = lp.plot(pen=pg.mkPen(FM_COLOUR, width=2))
        self.gap_raw = gp.plot(pen=pg.mkPen((*GAP_COLOUR, faint), width=1))
        self.gap_ema = gp.plot(pen=pg.mkPen(GAP_COLOUR, width=2))
        self.legend = QLabel(
            f"<span style='color:{_hex(CFM_COLOUR)}'>━━</span> L<sub>CFM</sub> conditional "
            f"&nbsp; <span style='color:{_hex(FM_COLOUR)}'>━━</span> L<sub>FM</sub> exact "
            f"&nbsp; <span style='color:{_hex(GAP_COLOUR)}'>━━</span> gap"
        )
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setToolTip("Faint: each reported batch; bold: moving average")
        self.note = QLabel()
        for label in (self.legend, self.note):
            label.setFont(font)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note)
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self.set_coupling("independent")

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

    def clear(self) -> None:
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
