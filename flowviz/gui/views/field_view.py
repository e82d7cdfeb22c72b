"""FieldView: any velocity field as arrows / streamlines, a heat layer, and particles.

The marginal view is one instance with the exact field; a learned field is another. Frames
are computed by the shared FrameWorker and cached per time step t_k = k / steps; while the
slider rests between steps the exact frame for t is fetched (latest request wins), and
particle trajectories arrive in chunks so something moves within a second.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QTimer

from flowviz.core import frames
from flowviz.gui.views.frame_worker import FrameWorker
from flowviz.gui.views.plot_view import PlotView
from flowviz.render.style import Style

FieldFn = Callable[[np.ndarray, float], np.ndarray]
HeatFn = Callable[[np.ndarray, float], np.ndarray]
FIRST_CHUNK, CHUNK = 400, 2500  # a few particles move within a second, then the rest
MAX_TRAILS = 800  # trails of more particles are a grey fog and cost frame rate


class FieldView(PlotView):
    """A view of field_fn(x (m, 2) float32, t) -> (m, 2), called on a worker thread: it must
    not share mutable state with the UI (capture frozen copies, e.g. an inference model
    that is only replaced, never trained in place).

    set_field(fn) swaps the field (new weights: caches are dropped, frames recomputed);
    set_heatmap(fn or None) sets the heat layer fn(x (m, 2), t) -> (m,) values >= 0 (shown
    normalised per frame, e.g. a density or an error map |v_theta - u_t|).
    solver / steps: how particles are integrated ("euler" | "midpoint" | "rk4").
    """

    def __init__(
        self,
        state,
        field_fn: FieldFn | None,
        title: str,
        *,
        worker: FrameWorker | None = None,
        style: Style | None = None,
        solver: str = "euler",
        heatmap_fn: HeatFn | None = None,
        parent=None,
    ):
        super().__init__(state, title, style or Style(dark=False), parent)
        self._own_worker = worker is None
        self.worker = worker or FrameWorker()
        if self._own_worker:
            self.worker.start()
        self.field_fn = field_fn
        self.heatmap_fn = heatmap_fn
        self.solver = solver
        self._gen = 0
        self._frames: dict[float, frames.FieldFrame] = {}
        self._want: float | None = None
        self._traj = np.zeros((1, 0, 2), np.float32)
        self._starts = np.zeros((0, 2), np.float32)
        self._ready = 0
        self._shown: frames.FieldFrame | None = None
        self._rebuild_timer = QTimer(self, singleShot=True, interval=0)
        self._rebuild_timer.timeout.connect(self._rebuild)
        state.time_changed.connect(self._on_time_changed)
        state.playing_changed.connect(self._on_playing_changed)
        state.display_changed.connect(self._on_display_changed)
        for sig in (state.data_changed, state.source_changed, state.path_changed):
            sig.connect(self._on_model_changed)
        self._display = state.display
        self.scene.set_arrow_mode(self._display.arrows)
        self.show_points()
        self.invalidate()

    # ------------------------------------------------------------ public seam

    def set_field(self, fn: FieldFn | None) -> None:
        """Show another field (or none): drops cached frames and particles, recomputes."""
        self.field_fn = fn
        self.invalidate()

    def set_heatmap(self, fn: HeatFn | None) -> None:
        """Heat layer values fn(x (m, 2), t) -> (m,), or None for no heat layer."""
        self.heatmap_fn = fn
        self.invalidate()

    def invalidate(self) -> None:
        """Recompute everything soon (coalesced: several changes cost one rebuild)."""
        self._gen += 1
        self._rebuild_timer.start()

    def current_frame(self) -> frames.FieldFrame | None:
        """The frame on screen now (its t may be the nearest cached step)."""
        return self._shown

    def busy(self) -> bool:
        """Whether frames or particles are still being computed for this view."""
        return self._want is not None or self._ready < len(self._starts)

    def shutdown(self) -> None:
        self._gen += 1
        if self._own_worker:
            self.worker.stop()

    # ------------------------------------------------------------ state slots

    def _on_model_changed(self) -> None:
        self.show_points()
        self.invalidate()

    def _on_display_changed(self) -> None:
        old, new = self._display, self.state.display
        self._display = new
        self.show_points()
        if new.arrows != old.arrows:
            self.scene.set_arrow_mode(new.arrows)
        frame_keys = ("heat", "arrow_res", "steps", "particles", "reverse")
        streams = (new.arrows == "streamlines") != (old.arrows == "streamlines")
        if streams or any(getattr(old, k) != getattr(new, k) for k in frame_keys):
            self.invalidate()
        else:
            self._draw()

    def _on_time_changed(self, _t: float) -> None:
        self._draw()

    def _on_playing_changed(self, playing: bool) -> None:
        if not playing:
            self._draw()

    # ------------------------------------------------------------ computing

    def _spec(self) -> frames.FrameSpec:
        d = self._display
        return frames.FrameSpec(
            arrow_res=d.arrow_res, heat=d.heat, streamlines=d.arrows == "streamlines"
        )

    def _ready_to_compute(self) -> bool:
        s = self.state
        return self.field_fn is not None and s.path is not None and len(s.data) > 0

    def _rebuild(self) -> None:
        self._frames.clear()
        self._want = None
        self._ready = 0
        self._starts = np.zeros((0, 2), np.float32)
        self._traj = np.zeros((1, 0, 2), np.float32)
        self.scene.set_particle_starts(self._starts)
        if not self._ready_to_compute():
            self._shown = None
            self.scene.show_frame(None, 1)
            self.scene.show_particles(self._starts)
            return
        gen, d, s = self._gen, self._display, self.state
        spec, fn, heat = self._spec(), self.field_fn, self.heatmap_fn
        alive = self._alive(gen)
        steps = d.steps
        now = round(s.t * steps)
        for k in range(steps + 1):
            tk = k / steps
            self.worker.submit(
                lambda tk=tk: frames.field_frame(field_fn=fn, heat_fn=heat, t=tk, spec=spec),
                self._on_frame(gen),
                # the frame on screen first, then a few particles, then frames near t
                priority=0 if k == now else 2 + abs(tk - s.t),
                alive=alive,
            )
        starts = frames.particle_starts(
            n=d.particles, reverse=d.reverse, data=s.data, path=s.path, source=s.source
        )
        self._starts = starts
        self._traj = np.full((steps + 1, len(starts), 2), np.nan, np.float32)
        solver = self.solver
        bounds = [0, *range(FIRST_CHUNK, len(starts), CHUNK), len(starts)]
        for i, (lo, hi) in enumerate(p for p in itertools.pairwise(bounds) if p[1] > p[0]):
            x0 = starts[lo:hi]
            self.worker.submit(
                lambda x0=x0: _trajectories(fn, x0, steps, d.reverse, solver),
                self._on_chunk(gen, lo),
                priority=1 if i == 0 else 3 + i,
                alive=alive,
            )
        self._draw()

    def _alive(self, gen: int) -> Callable[[], bool]:
        return lambda: gen == self._gen

    def _on_frame(self, gen: int):
        def done(frame: frames.FieldFrame) -> None:
            self._frames[frame.t] = frame
            if self._want is not None and frame.t == self._want:
                self._want = None
            self._draw()

        return done

    def _on_chunk(self, gen: int, lo: int):
        def done(traj: np.ndarray) -> None:
            self._traj[:, lo : lo + traj.shape[1]] = traj
            self._ready = max(self._ready, lo + traj.shape[1])
            self.scene.set_particle_starts(self._starts[: self._ready])
            self._draw()

        return done

    def _request_exact(self, t: float) -> None:
        """Fetch the frame at exactly t; an older pending request is skipped."""
        if self._want == t:
            return
        self._want = t
        gen, spec, fn, heat = self._gen, self._spec(), self.field_fn, self.heatmap_fn
        self.worker.submit(
            lambda: frames.field_frame(field_fn=fn, heat_fn=heat, t=t, spec=spec),
            self._on_frame(gen),
            priority=0,
            alive=lambda: gen == self._gen and self._want == t,
        )

    # ------------------------------------------------------------ drawing

    def _draw(self) -> None:
        t = self.state.t
        frame = self._frames.get(t)
        if frame is None and self._frames:
            frame = self._frames[min(self._frames, key=lambda k: abs(k - t))]
            if not self.state.playing and self._ready_to_compute():
                self._request_exact(t)
        if frame is not self._shown:
            self._shown = frame
            self.scene.show_frame(frame, self._display.arrow_res)
        self._draw_particles(t)

    def _draw_particles(self, t: float) -> None:
        if self._ready == 0:
            self.scene.show_particles(np.zeros((0, 2), np.float32))
            return
        traj = self._traj[:, : self._ready]
        pos = frames.at_time(traj, t)
        k = self._display.trails
        trails = (
            frames.trail_lines(traj[:, :MAX_TRAILS], t, k, reverse=self._display.reverse)
            if k > 0
            else None
        )
        self.scene.show_particles(pos, trails)


def _trajectories(fn, x0, steps, reverse, solver):
    from flowviz.core.exact import trajectories

    return trajectories(field_fn=fn, x0=x0, steps=steps, reverse=reverse, method=solver)
