"""The time controls: slider, play/pause, step, loop, reverse, speed; and the Player clock.

Playback advances t by wall-clock time (speed 1 = the whole path in DURATION seconds), so
the animation runs at the same pace however fast frames are drawn.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

DURATION = 4.0
TICKS = 1000
PAUSE_AT_END = 0.6  # seconds the loop rests on the finished picture


class Player(QObject):
    """Drives state.t while playing; direction, loop and speed are the Session's display
    settings (reverse, loop, speed)."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self._timer = QTimer(self, interval=16)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._rest = 0.0

    def play(self, on: bool = True) -> None:
        if on:
            if self._at_end():
                self.state.set_t(self._start())
            self._clock.start()
            self._rest = 0.0
            self._timer.start()
        else:
            self._timer.stop()
        self.state.set_playing(on)

    def toggle(self) -> None:
        self.play(not self.state.playing)

    def step(self, direction: int) -> None:
        """One time step forwards (+1) or back (-1) on the cached grid; pauses."""
        self.play(False)
        steps = self.state.display.steps
        k = round(self.state.t * steps) + direction
        self.state.set_t(min(max(k, 0), steps) / steps)

    def _sign(self) -> int:
        return -1 if self.state.display.reverse else 1

    def _start(self) -> float:
        return 1.0 if self.state.display.reverse else 0.0

    def _at_end(self) -> bool:
        return self.state.t == 1.0 - self._start()

    def _tick(self) -> None:
        dt = self._clock.restart() / 1000.0
        if self._at_end():
            self._rest += dt
            if not self.state.display.loop:
                self.play(False)
            elif self._rest >= PAUSE_AT_END:
                self._rest = 0.0
                self.state.set_t(self._start())
            return
        self.advance(dt)

    def advance(self, seconds: float) -> None:
        """Move t as playing for `seconds` would (the benchmark drives frames with it)."""
        t = self.state.t + self._sign() * self.state.display.speed * seconds / DURATION
        self.state.set_t(min(max(t, 0.0), 1.0))


class TimeBar(QWidget):
    """Buttons, slider and speed box bound to a Player and the state (both ways)."""

    def __init__(self, state, player: Player, parent=None):
        super().__init__(parent)
        self.state, self.player = state, player
        style = self.style()
        icon = style.standardIcon

        def button(pixmap, tip, slot, checkable=False):
            b = QToolButton(self)
            b.setIcon(icon(pixmap))
            b.setToolTip(tip)
            b.setCheckable(checkable)
            (b.toggled if checkable else b.clicked).connect(slot)
            return b

        sp = QStyle.StandardPixmap
        self.back = button(sp.SP_MediaSeekBackward, "Step back (Left)", lambda: player.step(-1))
        self.play = button(sp.SP_MediaPlay, "Play / pause (Space)", player.toggle)
        self.fwd = button(sp.SP_MediaSeekForward, "Step forward (Right)", lambda: player.step(1))
        self.loop = button(sp.SP_BrowserReload, "Loop (L)", self._on_loop, checkable=True)
        self.reverse = button(
            sp.SP_ArrowBack, "Reverse: data → noise (R)", self._on_reverse, checkable=True
        )
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, TICKS)
        self.slider.setToolTip("Time t: 0 is noise, 1 is data")
        self.slider.valueChanged.connect(lambda v: state.set_t(v / TICKS))
        self.slider.sliderPressed.connect(lambda: player.play(False))
        self.label = QLabel(self)
        self.label.setMinimumWidth(70)
        self.speed = QDoubleSpinBox(self)
        self.speed.setRange(0.1, 4.0)
        self.speed.setSingleStep(0.1)
        self.speed.setSuffix("×")
        self.speed.setToolTip(f"Playback speed (1× = the whole path in {DURATION:g} s)")
        self.speed.setKeyboardTracking(False)
        self.speed.valueChanged.connect(lambda v: state.set_display(speed=v))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for w in (self.back, self.play, self.fwd, self.loop, self.reverse):
            layout.addWidget(w)
        layout.addWidget(QLabel("t"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(QLabel("speed"))
        layout.addWidget(self.speed)
        state.time_changed.connect(self._on_time_changed)
        state.playing_changed.connect(self._on_playing_changed)
        state.display_changed.connect(self._on_display_changed)
        self._on_display_changed()
        self._on_time_changed(state.t)

    def _on_display_changed(self) -> None:
        d = self.state.display
        for widget, value in (
            (self.reverse, d.reverse),
            (self.loop, d.loop),
            (self.speed, d.speed),
        ):
            widget.blockSignals(True)
            if widget is self.speed:
                widget.setValue(value)
            else:
                widget.setChecked(value)
            widget.blockSignals(False)

    def _on_loop(self, on: bool) -> None:
        self.state.set_display(loop=on)

    def _on_reverse(self, on: bool) -> None:
        self.state.set_display(reverse=on)

    def _on_time_changed(self, t: float) -> None:
        self.label.setText(f"t = {t:.3f}")
        v = round(t * TICKS)
        if self.slider.value() != v and not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(v)
            self.slider.blockSignals(False)

    def _on_playing_changed(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        self.play.setIcon(
            self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay)
        )
