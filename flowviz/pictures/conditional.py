"""The Conditional view's picture: one data point z, its path p_t(x|z) (mean and 1- and
2-sigma circles, the density as the heat layer), its field u_t(x|z), and conditional
particles x_t = alpha_t z + beta_t eps with their paths.

Everything is closed form and cheap (one mixture component, or one per drawn source
point), so the window computes it on the UI thread; field frames are memoised per t.
"""

from __future__ import annotations

import numpy as np

from flowviz.core import frames
from flowviz.pictures.field import path_of, spec_of
from flowviz.session import Session

PARTICLES = 400
TRAILS = 60  # paths drawn for the first TRAILS particles: more would hide the field
TRAIL_POINTS = 12
MEMO = 400  # field frames kept (a cycle of the animation at 100 steps, a few times over)


def conditional(
    session: Session, *, extent: tuple[float, float] = (frames.LIM, frames.LIM)
) -> ConditionalPicture | None:
    """The conditional picture of session's selected z (None when no z is selected), its
    field grids covering the half-widths extent (frames.view_extent of the view)."""
    if session.selected < 0:
        return None
    return ConditionalPicture(session, extent=extent)


class ConditionalPicture:
    """p_t(x|z), u_t(x|z) and conditional particles of one Session's z. Not thread-safe
    (its memo): one per thread."""

    def __init__(self, session: Session, *, extent: tuple[float, float]):
        from flowviz.core.exact import conditional as exact_conditional

        self.session = session
        self.path = path_of(session)
        self.z = session.data[session.selected]
        self.field = exact_conditional(z=self.z, path=self.path, source=session.source)
        rng = np.random.default_rng(1)
        self.eps = rng.standard_normal((PARTICLES, 2)).astype(np.float32)
        pick = rng.integers(0, 1 << 30, PARTICLES)
        src = session.source
        self.starts = None if src is None else src[pick % len(src)]
        d = session.display
        self.spec = spec_of(d, extent, heat="off" if d.heat == "off" else "density")
        self._frames: dict[float, frames.FieldFrame] = {}

    def frame(self, t: float) -> frames.FieldFrame:
        """u_t(x|z) and p_t(x|z) at t (memoised)."""
        frame = self._frames.get(t)
        if frame is None:
            if len(self._frames) >= MEMO:
                self._frames.clear()
            frame = self._frames[t] = frames.field_frame(
                field_fn=self.field.velocity, heat_fn=self.field.density, t=t, spec=self.spec
            )
        return frame

    def at(self, t: float, *, field_t: float | None = None) -> frames.ViewFrame:
        """The ViewFrame at t; field_t: draw the field of another t (the window, while
        playing, shows the field of the nearest time step: memoised, cheap)."""
        s, d = self.session, self.session.display
        rings = None
        if s.source is None:
            rings = frames.gaussian_rings(z=self.z, path=self.path, t=t)
        return frames.ViewFrame(
            t=float(t),
            field=self.frame(t if field_t is None else field_t),
            arrows=d.arrows,
            particles=frames.conditional_particles(
                z=self.z, path=self.path, eps=self.eps, start=self.starts, t=t
            ),
            starts=self.eps,
            trails=self.trails(t) if d.trails > 0 else None,
            data=s.data if d.show_data else np.zeros((0, 2), np.float32),
            source=s.source if d.show_data else None,
            rings=rings,
            z=self.z,
            heat_label=frames.HEAT_LABELS["conditional"],
        )

    def trails(self, t: float) -> np.ndarray:
        """The path each of the first TRAILS particles took from t = 0 (or from t = 1 when
        reversed) to t, as polylines with NaN breaks."""
        end = 1.0 if self.session.display.reverse else 0.0
        ts = np.linspace(end, t, TRAIL_POINTS)
        s = self.path.schedule(ts)
        alpha, beta = s.alpha.numpy()[:, None, None], s.beta.numpy()[:, None, None]
        z, eps = self.z[None, None], self.eps[None, :TRAILS]
        if self.starts is None:
            pts = alpha * z + beta * eps
        else:
            sig = self.path.sigma_min
            b = (beta - sig) / (1.0 - sig)
            pts = alpha * z + b * self.starts[None, :TRAILS] + sig * eps
        gap = np.full((1, pts.shape[1], 2), np.nan, np.float32)
        lines = np.concatenate([pts, gap], 0).transpose(1, 0, 2)
        return np.ascontiguousarray(lines, np.float32).reshape(-1, 2)
