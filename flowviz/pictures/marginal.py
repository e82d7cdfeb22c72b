"""The Marginal view's picture: the exact p_t(x) and u_t(x) of the drawn points (a
posterior-weighted mixture), and particles flowing along it."""

from __future__ import annotations

from flowviz.core import frames
from flowviz.pictures.field import (
    FieldPicture,
    check_data,
    path_of,
    resample,
    share_particles,
    spec_of,
    starts_of,
)
from flowviz.session import Session

#: Steps of the preview particles shown while the full ones are computed (a fifth of
#: the default 100: all 3000 particles of a 1000-point set appear in a fraction of a second;
#: on the path's clock they land close to the full ones).
PREVIEW_STEPS = 20


def marginal(
    session: Session,
    *,
    extent: tuple[float, float] = (frames.LIM, frames.LIM),
    particles_of: FieldPicture | None = None,
) -> FieldPicture:
    """The exact marginal field of session's data (and drawn source) on its path, its
    grids covering the half-widths extent (frames.view_extent of the view). particles_of:
    a picture of the same Session whose particles this one shares (a resized view keeps
    them: they do not depend on the extent)."""
    from flowviz.core import clock
    from flowviz.core.exact import ExactMarginal

    check_data(session)
    path = path_of(session)
    d = session.display
    exact = ExactMarginal(data=session.data, path=path, source=session.source)
    spec = spec_of(d, extent)
    starts = starts_of(session, path)

    def frame(t: float) -> frames.FieldFrame:
        return frames.field_frame(field_fn=exact.velocity, heat_fn=exact.density, t=t, spec=spec)

    drawn = session.source is not None

    def move(x0, steps=d.steps):
        """Particles on the path's clock (core.clock): on every path as close to the exact
        flow as CondOT's, with CondOT's field evaluations."""
        return clock.trajectories(
            field_fn=exact.velocity,
            path=path,
            drawn_source=drawn,
            x0=x0,
            steps=steps,
            reverse=d.reverse,
        )

    def preview(x0):
        return resample(move(x0, PREVIEW_STEPS), d.steps)

    picture = FieldPicture(
        frame=frame,
        trajectories=move,
        starts=starts,
        display=d,
        data=session.data,
        source=session.source,
        ahead=True,
        field=exact.velocity,
        heat_label=frames.HEAT_LABELS["marginal" if d.heat == "density" else "speed"],
        preview=preview if d.steps > PREVIEW_STEPS else None,
    )
    return picture if particles_of is None else share_particles(picture, particles_of)
