"""ConditionalView: one data point z, its path p_t(x|z) and its field u_t(x|z).

Everything here is closed form and cheap (one mixture component, or one per drawn source
point), so it is drawn on the UI thread; frames are cached per time step while playing.
"""

from __future__ import annotations

import numpy as np

from flowviz.core import frames
from flowviz.gui.views.plot_view import PlotView

PARTICLES = 400
TRAILS = 60  # paths drawn for the first TRAILS particles: more would hide the field


class ConditionalView(PlotView):
    """Shows the selected data point z (state.selected): mean and 1-/2-sigma rings of
    p_t(x|z) (Gaussian source), its density as the heat layer, the conditional field as
    arrows, and conditional particles x_t = alpha_t z + beta_t eps with their paths."""

    def __init__(self, state, *, style, parent=None):
        super().__init__(
            state,
            "<b>Conditional</b> &nbsp; p<sub>t</sub>(x|z), u<sub>t</sub>(x|z) &nbsp;"
            "<small>(pick a data point z)</small>",
            style,
            parent,
        )
        rng = np.random.default_rng(1)
        self._eps = rng.standard_normal((PARTICLES, 2)).astype(np.float32)
        self._pick = rng.integers(0, 1 << 30, PARTICLES)
        self._field = None
        self._frames: dict[float, frames.FieldFrame] = {}
        for sig in (
            state.data_changed,
            state.source_changed,
            state.path_changed,
            state.selected_changed,
        ):
            sig.connect(self._on_model_changed)
        state.display_changed.connect(self._on_display_changed)
        state.time_changed.connect(lambda _t: self._draw())
        state.playing_changed.connect(lambda _p: self._draw())
        self._display = state.display
        self.scene.set_arrow_mode(self._display.arrows)
        self._on_model_changed()

    def z(self) -> np.ndarray | None:
        s = self.state
        return None if s.selected < 0 or s.path is None else s.data[s.selected]

    def current_frame(self) -> frames.FieldFrame | None:
        return self._shown

    def _on_display_changed(self) -> None:
        self._display = self.state.display
        self.scene.set_arrow_mode(self._display.arrows)
        self._frames.clear()
        self.show_points()
        self._draw()

    def _on_model_changed(self, *_):
        self.show_points()
        self._frames.clear()
        z = self.z()
        self._field = None
        if z is not None:
            from flowviz.core.exact import conditional

            self._field = conditional(z=z, path=self.state.path, source=self.state.source)
        self._starts = self._source_starts()
        self.scene.set_particle_starts(self._eps)
        self._shown = None
        self._draw()

    def _source_starts(self) -> np.ndarray | None:
        src = self.state.source
        return None if src is None else src[self._pick % len(src)]

    def _frame(self, t: float) -> frames.FieldFrame:
        """The conditional frame at t, or while playing at the nearest step (cached)."""
        steps = self._display.steps
        if self.state.playing:
            t = round(t * steps) / steps
        frame = self._frames.get(t)
        if frame is None:
            spec = frames.FrameSpec(
                arrow_res=self._display.arrow_res,
                heat="off" if self._display.heat == "off" else "density",
                streamlines=self._display.arrows == "streamlines",
            )
            frame = frames.field_frame(
                field_fn=self._field.velocity, heat_fn=self._field.density, t=t, spec=spec
            )
            if len(self._frames) > 4 * steps:
                self._frames.clear()
            self._frames[t] = frame
        return frame

    def _draw(self) -> None:
        z, t = self.z(), self.state.t
        if z is None:
            self._shown = None
            self.scene.show_frame(None, 1)
            self.scene.show_rings(None, None)
            self.scene.show_particles(np.zeros((0, 2), np.float32))
            return
        frame = self._frame(t)
        if frame is not self._shown:
            self._shown = frame
            self.scene.show_frame(frame, self._display.arrow_res)
        path = self.state.path
        rings = frames.gaussian_rings(z=z, path=path, t=t) if self.state.source is None else None
        self.scene.show_rings(rings, z)
        pos = self._particles(t)
        trails = self._trails(t) if self._display.trails > 0 else None
        self.scene.show_particles(pos, trails)

    def _particles(self, t: float) -> np.ndarray:
        return frames.conditional_particles(
            z=self.z(), path=self.state.path, eps=self._eps, start=self._starts, t=t
        )

    def _trails(self, t: float) -> np.ndarray:
        """The path each of the first TRAILS particles took from t = 0 (or from t = 1 when
        reversed) to t, as polylines of 12 points with NaN breaks."""
        end = 1.0 if self._display.reverse else 0.0
        ts = np.linspace(end, t, 12)
        s = self.state.path.schedule(ts)
        alpha, beta = s.alpha.numpy()[:, None, None], s.beta.numpy()[:, None, None]
        z, eps = self.z()[None, None], self._eps[None, :TRAILS]
        if self._starts is None:
            pts = alpha * z + beta * eps
        else:
            sig = self.state.path.sigma_min
            b = (beta - sig) / (1.0 - sig)
            pts = alpha * z + b * self._starts[None, :TRAILS] + sig * eps
        gap = np.full((1, pts.shape[1], 2), np.nan, np.float32)
        lines = np.concatenate([pts, gap], 0).transpose(1, 0, 2)
        return np.ascontiguousarray(lines, np.float32).reshape(-1, 2)
