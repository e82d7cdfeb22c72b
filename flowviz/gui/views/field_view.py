"""FieldView: shows a FieldPicture (flowviz.pictures) and schedules its work.

The view is told what to show with set_picture(picture), its one public seam: the
Marginal view gives it the exact field's picture, the Learned view one per weight update.
Frames are computed on the shared FrameWorker and cached per time t: a picture with
`ahead` has every time step t_k = k / steps computed in advance (the animation then plays
from cache), others when shown. While the slider rests between steps the frame at exactly
t is fetched, one request at a time. Particle trajectories arrive in chunks, the first
small, so something moves within a second.

A picture whose layout equals the previous one's (new weights of the same network) is a
soft refresh: the old frames stand in until the new ones are computed, and the old
particles move on until all the new ones are ready (double buffer), so several updates a
second neither blank nor stall the animation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QTimer, Signal

from flowviz.core import frames
from flowviz.gui.views.frame_worker import FrameWorker
from flowviz.gui.views.plot_view import PlotView
from flowviz.pictures import FieldPicture, compose
from flowviz.render.style import Style

FIRST_CHUNK, CHUNK = 400, 2500  # a few particles move within a second, then the rest


class FieldView(PlotView):
    """A view of a FieldPicture. The picture's functions run on the worker thread: they
    must not share mutable state with the UI (pictures hold frozen copies).

    refreshed: emitted when the particles of the latest picture are all on screen.
    """

    refreshed = Signal()

    def __init__(
        self,
        state,
        title: str,
        *,
        worker: FrameWorker | None = None,
        style: Style | None = None,
        parent=None,
    ):
        super().__init__(state, title, style or Style(dark=False), parent)
        self._own_worker = worker is None
        self.worker = worker or FrameWorker()
        if self._own_worker:
            self.worker.start()
        self.picture: FieldPicture | None = None  # the latest, perhaps not rebuilt yet
        self._current: FieldPicture | None = None  # the one the caches and buffers hold
        self._gen = 0
        self._frames: dict[float, tuple[int, frames.FieldFrame]] = {}
        self._asked: tuple[int, float] | None = None  # the frame request in flight
        self._traj = np.zeros((1, 0, 2), np.float32)
        self._starts = np.zeros((0, 2), np.float32)
        self._ready = 0
        self._next: np.ndarray | None = None  # a soft refresh's particles, filling
        self._next_done = 0
        self._shown: frames.FieldFrame | None = None
        self._layout = None
        self._rebuild_timer = QTimer(self, singleShot=True, interval=0)
        self._rebuild_timer.timeout.connect(self._rebuild)
        state.time_changed.connect(lambda _t: self._draw())
        state.playing_changed.connect(lambda playing: None if playing else self._draw())
        self._rebuild_timer.start()

    # ------------------------------------------------------------ public seam

    def set_picture(self, picture: FieldPicture | None) -> None:
        """Show picture (None: nothing). Coalesced: several calls in one event-loop turn
        cost one rebuild; a picture with the same frame and trajectory functions (only drawn
        differently: pictures.restyled) costs none."""
        old = self.picture
        self.picture = picture
        same = (
            old is not None
            and picture is not None
            and picture.frame is old.frame
            and picture.trajectories is old.trajectories
        )
        if same and not self._rebuild_timer.isActive():
            self._current = picture
            self._draw()
            return
        self._gen += 1
        self._rebuild_timer.start()

    def current_frame(self) -> frames.FieldFrame | None:
        """The field frame on screen now (its t may be the nearest cached step)."""
        return self._shown

    def refreshing(self) -> bool:
        """The latest picture's particles are not all on screen yet."""
        return (
            self._rebuild_timer.isActive()
            or self._next is not None
            or self._ready < len(self._starts)
        )

    def busy(self) -> bool:
        """Frames or particles are still being computed for this view."""
        return self._asked is not None or self.refreshing()

    def shutdown(self) -> None:
        self._gen += 1
        if self._own_worker:
            self.worker.stop()

    # ------------------------------------------------------------ computing

    def _alive(self, gen: int) -> Callable[[], bool]:
        return lambda: gen == self._gen

    def _rebuild(self) -> None:
        pic, gen = self.picture, self._gen
        self._current = pic
        self._asked = None
        self._next = None
        if pic is None:
            self._frames.clear()
            self._ready = 0
            self._starts = np.zeros((0, 2), np.float32)
            self._traj = np.zeros((1, 0, 2), np.float32)
            self._shown = None
            self.drawer.draw(None)
            self.show_points()
            self.refreshed.emit()
            return
        if pic.layout is None or pic.layout != self._layout:
            self._frames.clear()  # a different picture: old frames cannot stand in
        self._layout = pic.layout
        steps, starts = pic.display.steps, pic.starts
        complete = self._ready == len(self._starts)
        keep = (
            pic.layout is not None
            and complete
            and self._traj.shape == (steps + 1, len(starts), 2)
            and np.array_equal(starts, self._starts)
        )
        if keep:  # double buffer: the old particles move on until the new ones are ready
            self._next = np.empty_like(self._traj)
            self._next_done = 0
        else:  # nothing valid to keep: fill the screen progressively
            self._starts = starts
            self._traj = np.full((steps + 1, len(starts), 2), np.nan, np.float32)
            self._ready = 0
        alive = self._alive(gen)
        if pic.ahead:
            now = round(self.state.t * steps)
            for k in range(steps + 1):
                tk = k / steps
                self.worker.submit(
                    lambda tk=tk: pic.frame(tk),
                    self._on_frame(gen),
                    # the frame on screen first, then a few particles, then frames near t
                    priority=0 if k == now else 2 + abs(tk - self.state.t),
                    alive=alive,
                )
        bounds = [0, *range(FIRST_CHUNK, len(starts), CHUNK), len(starts)]
        chunks = [p for p in itertools.pairwise(bounds) if p[1] > p[0]]
        if not chunks:
            self.refreshed.emit()
        for i, (lo, hi) in enumerate(chunks):
            x0 = starts[lo:hi]
            self.worker.submit(
                lambda x0=x0: pic.trajectories(x0),
                self._on_chunk(gen, lo, live=not keep),
                priority=1 if i == 0 else 3 + i,
                alive=alive,
            )
        self._draw()

    def _on_frame(self, gen: int):
        def done(frame: frames.FieldFrame) -> None:
            self._frames[frame.t] = (gen, frame)
            if self._asked == (gen, frame.t):
                self._asked = None
            self._draw()

        return done

    def _on_chunk(self, gen: int, lo: int, *, live: bool):
        def done(traj: np.ndarray) -> None:
            n = traj.shape[1]
            if live:
                self._traj[:, lo : lo + n] = traj
                self._ready = max(self._ready, lo + n)
            elif self._next is not None:
                self._next[:, lo : lo + n] = traj
                self._next_done += n
                if self._next_done == len(self._starts):
                    self._traj, self._next = self._next, None
            self._draw()
            if self._next is None and self._ready == len(self._starts):
                self.refreshed.emit()

        return done

    def _request(self, t: float) -> None:
        """Compute the frame at t for the current picture; one request in flight (the
        draw after it lands asks again if t moved on)."""
        gen, pic = self._gen, self._current
        if self._asked is not None and self._asked[0] == gen:
            return
        self._asked = (gen, t)
        self.worker.submit(
            lambda: pic.frame(t), self._on_frame(gen), priority=0, alive=self._alive(gen)
        )

    # ------------------------------------------------------------ drawing

    def _draw(self) -> None:
        pic = self._current
        if pic is None:
            return
        t = self.state.t
        steps = pic.display.steps
        # paused: the frame at exactly t; playing: the nearest step (computed ahead or not)
        want = t if not self.state.playing else round(t * steps) / steps
        have = self._frames.get(want)
        on_grid = abs(want * steps - round(want * steps)) < 1e-9
        stale = have is None or have[0] != self._gen
        if stale and not (pic.ahead and on_grid) and not self._rebuild_timer.isActive():
            self._request(want)
        entry = self._frames.get(t)
        if entry is None and self._frames:
            entry = self._frames[min(self._frames, key=lambda k: abs(k - t))]
        self._shown = entry[1] if entry is not None else None
        self.drawer.draw(compose(pic, t, self._shown, self._traj[:, : self._ready]))
