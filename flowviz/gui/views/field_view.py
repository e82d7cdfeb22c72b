"""FieldView: shows a FieldPicture (flowviz.pictures) and schedules its work.

The view is told what to show with set_picture(picture), its one public seam: the
Marginal view gives it the exact field's picture, the Learned view one per weight update.
Frames are computed on the shared FrameWorker and cached per time t: a picture with
`ahead` has every time step t_k = k / steps computed in advance (the animation then plays
from cache), others when shown. While the slider rests between steps the frame at exactly
t is fetched.

The view keeps at most one job on the worker and chooses the next when it lands, so a new
picture cancels what was queued for the old one (FrameWorker.cancel) and a burst of changes
leaves no backlog. The order after a change: the frame on screen, then the particles (a
coarse preview of all of them, if the picture has one, then full-resolution chunks sized
to take about CHUNK_S each, alternating with the frame at t while playing), then the
frames ahead, a batch of them per job nearest t first (in the playing direction).

A picture that shares the previous one's particles (pictures.field.share_particles: the
view was resized) only has its frames recomputed. A picture whose layout equals the
previous one's (new weights of the same network) is a soft refresh: the old frames stand
in until the new ones are computed, and the old particles move on until all the new ones
are ready (double buffer), so several updates a second neither blank nor stall the
animation.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QTimer, Signal

from flowviz.core import frames
from flowviz.gui.views.frame_worker import FrameWorker
from flowviz.gui.views.plot_view import PlotView
from flowviz.pictures import FieldPicture, compose
from flowviz.pictures.field import restyled
from flowviz.render.style import Style

#: Particles of the first chunk when there is no preview: a few move within a second.
FIRST_CHUNK = 400
#: Seconds a particle job should take: long enough that the round trip between jobs is
#: noise, short enough that a frame asked for meanwhile waits little.
CHUNK_S = 0.3
MIN_CHUNK = 200
#: Seconds of frames-ahead one job computes before it yields to the queue.
AHEAD_S = 0.15
MAX_AHEAD = 32

# What the view's one job computes: frames (the one shown, perhaps more ahead), the
# particle preview, full-resolution particles, or frames ahead of t.
FRAME, PREVIEW, PARTICLES, AHEAD = "frame", "preview", "particles", "ahead"
PRIORITY = {FRAME: 0.0, PREVIEW: 1.0, PARTICLES: 2.0, AHEAD: 3.0}


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
        self._job: str | None = None  # the kind of this view's job on the worker
        self._last: str | None = None  # the kind of the job before it
        self._stuck = False  # a job of this picture failed: ask no more
        self._traj = np.zeros((1, 0, 2), np.float32)
        self._starts = np.zeros((0, 2), np.float32)
        self._ready = 0  # particles on screen (preview or full)
        self._fine = 0  # particles at full resolution; the next chunk starts here
        self._preview_due = False
        self._chunk = FIRST_CHUNK
        self._next: np.ndarray | None = None  # a soft refresh's particles, filling
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

    def restyle(self, display) -> bool:
        """Show the current picture with new display settings if its frames and particles
        still hold (pictures.restyled: nothing recomputed); False when it needs remaking."""
        cheap = self.picture is not None and restyled(self.picture, display)
        if cheap:
            self.set_picture(cheap)
        return bool(cheap)

    def current_frame(self) -> frames.FieldFrame | None:
        """The field frame on screen now (its t may be the nearest cached step)."""
        return self._shown

    def refreshing(self) -> bool:
        """The latest picture's particles are not all on screen at full resolution yet."""
        return (
            self._rebuild_timer.isActive()
            or self._next is not None
            or self._fine < len(self._starts)
        )

    def busy(self) -> bool:
        """The frame shown or the particles are still being computed for this view, or a
        resize is about to remake them (frames ahead of t may still be coming)."""
        return self._job in (FRAME, PREVIEW, PARTICLES) or self.refreshing() or super().busy()

    def pending(self) -> int:
        """This view's jobs queued or running on the worker (at most one, plus a stale one
        still running after a change)."""
        return self.worker.pending(self)

    def shutdown(self) -> None:
        self._gen += 1
        self.worker.cancel(self)
        if self._own_worker:
            self.worker.stop()

    # ------------------------------------------------------------ computing

    def _alive(self, gen: int) -> Callable[[], bool]:
        return lambda: gen == self._gen

    def _rebuild(self) -> None:
        pic = self.picture
        self.worker.cancel(self)  # the old picture's queued job; a running one is dropped
        # the particles on screen are all at full resolution (a soft refresh in progress
        # keeps the complete old ones on screen)
        complete = self._next is not None or self._fine == len(self._starts)
        moving = (
            pic is not None
            and self._current is not None
            and pic.trajectories is self._current.trajectories
        )
        self._current = pic
        self._job = self._last = None
        self._stuck = False
        if moving:  # a resized view: the particles carry on, the old frames stand in
            self._layout = pic.layout
            self._draw()
            return
        self._next = None
        self._preview_due = False
        if pic is None:
            self._frames.clear()
            self._ready = self._fine = 0
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
        keep = (
            pic.layout is not None
            and complete
            and self._traj.shape == (steps + 1, len(starts), 2)
            and np.array_equal(starts, self._starts)
        )
        if keep:  # double buffer: the old particles move on until the new ones are ready
            self._next = np.empty_like(self._traj)
            self._chunk = len(starts)  # all at once: nothing shows before the last one
        else:  # nothing valid to keep: fill the screen progressively
            self._starts = starts
            self._traj = np.full((steps + 1, len(starts), 2), np.nan, np.float32)
            self._ready = 0
            self._preview_due = pic.preview is not None and len(starts) > 0
            self._chunk = FIRST_CHUNK
        self._fine = 0
        if not len(starts):
            self.refreshed.emit()
        self._draw()

    def _want(self) -> float:
        """The time of the frame to show: paused, exactly t; playing, the nearest step."""
        t, steps = self.state.t, self._current.display.steps
        return t if not self.state.playing else round(t * steps) / steps

    def _have(self, t: float) -> bool:
        hit = self._frames.get(t)
        return hit is not None and hit[0] == self._gen

    def _ahead(self, want: float) -> list[float]:
        """Time steps not computed yet, nearest want first: in the playing direction
        (wrapping) while playing, either side at rest."""
        d = self._current.display
        steps, sign = d.steps, -1 if d.reverse else 1
        now = round(want * steps)
        if self.state.playing:
            order = [(now + sign * i) % (steps + 1) for i in range(steps + 1)]
        else:
            order = sorted(range(steps + 1), key=lambda k: (abs(k - now), k))
        out = []
        for k in order:
            if not self._have(k / steps):
                out.append(k / steps)
                if len(out) == MAX_AHEAD:
                    break
        return out

    def _schedule(self) -> None:
        """Give the worker this view's next job, unless one is out: the frame shown, the
        particles (after a frame, particles get the next turn), then frames ahead."""
        pic = self._current
        if pic is None or self._job is not None or self._stuck:
            return
        if self._rebuild_timer.isActive():
            return
        want = self._want()
        particles = self._preview_due or self._fine < len(self._starts)
        missing = not self._have(want)
        if missing and not (particles and self._last == FRAME):
            steps = pic.display.steps
            on_grid = abs(want * steps - round(want * steps)) < 1e-9
            more = pic.ahead and on_grid and not particles
            ts = [want, *[t for t in self._ahead(want) if t != want]] if more else [want]
            self._submit(FRAME, self._frames_job(pic, ts))
        elif self._preview_due:
            self._submit(PREVIEW, self._particles_job(pic.preview, self._starts))
        elif particles:
            lo = self._fine
            hi = min(len(self._starts), lo + max(self._chunk, MIN_CHUNK))
            self._submit(PARTICLES, self._particles_job(pic.trajectories, self._starts[lo:hi]))
        elif pic.ahead:
            ts = self._ahead(want)
            if ts:
                self._submit(AHEAD, self._frames_job(pic, ts))

    def _submit(self, kind: str, fn: Callable) -> None:
        gen = self._gen
        self._job = kind
        self.worker.submit(
            fn,
            lambda result: self._on_done(gen, kind, result),
            priority=PRIORITY[kind],
            alive=self._alive(gen),
            owner=self,
            on_failed=lambda _msg: self._on_failed(),
        )

    def _frames_job(self, pic: FieldPicture, ts: list[float]) -> Callable:
        """Frames at ts in order: the first always, the rest while they take under AHEAD_S
        in all and the picture is current."""
        alive = self._alive(self._gen)

        def job():
            t0 = time.perf_counter()
            out = [pic.frame(ts[0])]
            for t in ts[1:]:
                if time.perf_counter() - t0 > AHEAD_S or not alive():
                    break
                out.append(pic.frame(t))
            return out

        return job

    @staticmethod
    def _particles_job(fn: Callable, x0: np.ndarray) -> Callable:
        def job():
            t0 = time.perf_counter()
            return fn(x0), time.perf_counter() - t0

        return job

    def _on_done(self, gen: int, kind: str, result) -> None:
        self._job, self._last = None, kind
        if kind in (FRAME, AHEAD):
            for frame in result:
                self._frames[frame.t] = (gen, frame)
        else:
            traj, seconds = result
            n = traj.shape[1]
            if kind == PREVIEW:
                self._traj[:] = traj
                self._ready = n
                self._preview_due = False
            else:
                lo = self._fine
                self._chunk = max(MIN_CHUNK, int(n * CHUNK_S / max(seconds, 1e-3)))
                if self._next is not None:
                    self._next[:, lo : lo + n] = traj
                else:
                    self._traj[:, lo : lo + n] = traj
                    self._ready = max(self._ready, lo + n)
                self._fine = lo + n
                if self._next is not None and self._fine == len(self._starts):
                    self._traj, self._next = self._next, None
        self._draw()
        if kind == PARTICLES and not self.refreshing():
            self.refreshed.emit()

    def _on_failed(self) -> None:
        """A job of this picture raised (the worker reported it): ask for nothing more
        until the next picture, rather than retry it forever."""
        self._job, self._stuck = None, True

    # ------------------------------------------------------------ drawing

    def _draw(self) -> None:
        pic = self._current
        if pic is None:
            return
        self._schedule()
        t = self.state.t
        entry = self._frames.get(t)
        if entry is None and self._frames:
            entry = self._frames[min(self._frames, key=lambda k: abs(k - t))]
        self._shown = entry[1] if entry is not None else None
        self.drawer.draw(compose(pic, t, self._shown, self._traj[:, : self._ready]))
