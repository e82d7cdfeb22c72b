"""The Learned view's picture: the network's field v_theta(x, t), particles integrated
with it (the Session's solver and step count: few steps show the discretisation error),
and an error map |v_theta - u_t| against the exact marginal field."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

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

if TYPE_CHECKING:
    from flowviz.core.paths import GaussianPath

HEAT_RES = 48  # the error map is a smooth picture: 48^2 points cost half of 72^2
MAX_EXACT_MEMO = 256


def learned(
    session: Session,
    field,
    *,
    previous: FieldPicture | None = None,
    extent: tuple[float, float] = (frames.LIM, frames.LIM),
    particles_of: FieldPicture | None = None,
) -> FieldPicture:
    """The picture of a learned field: an InferenceField (core.inference; made from a
    snapshot's or checkpoint's weights) or any callable x (m, 2) float32, t -> (m, 2).
    previous: the picture of older weights on the same Session, whose exact field on the
    error map's grid is reused (it does not depend on the weights). extent: the half-widths
    the grids cover (frames.view_extent of the view). particles_of: a picture of the same
    Session and field whose particles this one shares (a resized view keeps them)."""
    check_data(session)
    d, opts = session.display, session.learned
    path = path_of(session)
    spec = spec_of(d, extent, heat_res=HEAT_RES)
    exact = None
    if opts.error_map:
        key = (id(session.data), id(session.source), session.path, spec.heat_grid())
        old = previous._memo.get("exact") if previous is not None else None
        exact = old if old is not None and old.key == key else None
        if exact is None:
            exact = ExactOnGrid(
                data=session.data,
                path=path,
                source=session.source,
                on=spec.heat_grid(),
                key=key,
            )
    velocity = getattr(field, "velocity", None) or _torch_velocity(field)
    starts = starts_of(session, path)

    def frame(t: float) -> frames.FieldFrame:
        return learned_frame(field_fn=field, exact=exact, t=t, spec=spec)

    def move(x0: np.ndarray) -> np.ndarray:
        return learned_trajectories(
            velocity=velocity,
            x0=x0,
            solver=opts.solver,
            solver_steps=opts.steps,
            display_steps=d.steps,
            reverse=d.reverse,
        )

    picture = FieldPicture(
        frame=frame,
        trajectories=move,
        starts=starts,
        display=d,
        data=session.data,
        source=session.source,
        ahead=False,
        layout=(spec, d.steps, exact),
        field=field,
        heat_label=frames.HEAT_LABELS["error" if opts.error_map else "speed"],
    )
    if particles_of is not None:
        picture = share_particles(picture, particles_of)
    picture._memo["exact"] = exact
    return picture


def _torch_velocity(fn):
    import torch

    def velocity(x, t):
        return torch.from_numpy(np.asarray(fn(x.numpy(), t), np.float32))

    return velocity


class ExactOnGrid:
    """The exact marginal u_t on the heat grid (the Lattice `on`) where p_t carries mass
    (at least 1e-9 of its peak: marginal.field_where_dense), NaN beyond, so the error map
    is drawn where training can see the field and left clear far out, where no sample
    goes (and where a drawn source's exact sums cost the most). Memoised per t (it does
    not depend on the weights, so every refresh only evaluates the network). Worker thread
    only."""

    def __init__(
        self, *, data: np.ndarray, path: GaussianPath, source, on: frames.Lattice, key=None
    ):
        self.data, self.path, self.source, self.key = data, path, source, key
        self.grid = on.points()
        self._memo: dict[float, tuple[np.ndarray, float]] = {}

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(u_t on the grid (res*res, 2), the error scale per grid point (res*res,):
        |u_t(x)| plus the median speed, so the error is relative to the local speed without
        blowing up where u_t vanishes)."""
        hit = self._memo.get(t)
        if hit is None:
            import torch

            from flowviz.core import marginal

            u = marginal.field_where_dense(
                x=torch.from_numpy(self.grid),
                t=float(t),
                data=torch.from_numpy(np.array(self.data)),
                path=self.path,
                source=None if self.source is None else torch.from_numpy(np.array(self.source)),
            ).velocity.numpy()
            speed = np.linalg.norm(u, axis=1)
            typical = float(np.nanmedian(speed)) if np.isfinite(speed).any() else 0.0
            scale = speed + max(typical, 1e-6)
            if len(self._memo) >= MAX_EXACT_MEMO:
                self._memo.clear()
            hit = self._memo[t] = (u, scale.astype(np.float32))
        return hit


def learned_frame(
    *, field_fn, exact: ExactOnGrid | None, t: float, spec: frames.FrameSpec
) -> frames.FieldFrame:
    """One frame of the learned field. With exact, the heat layer is the relative error
    |v_theta - u_t| / (|u_t| + median |u_t|), clipped to [0, 1], on a fixed scale (so it
    fades as training improves); else spec.heat "speed" shows |v_theta|, anything else
    none (a network has no density)."""
    arrows, fine = spec.arrow_grid(), spec.heat_grid()
    tails = arrows.points()
    vectors = np.asarray(field_fn(tails, t), np.float32)
    heat = lines = None
    if exact is not None or spec.heat == "speed" or spec.streamlines:
        v_fine = np.asarray(field_fn(fine.points() if exact is None else exact.grid, t), np.float32)
        if exact is not None:
            u, scale = exact.at(t)
            err = np.linalg.norm(v_fine - u, axis=1) / scale
            heat = np.ascontiguousarray(
                np.sqrt(np.clip(err, 0.0, 1.0)).reshape(fine.ny, fine.nx), dtype=np.float32
            )
        elif spec.heat == "speed":
            heat = frames.normalise(np.linalg.norm(v_fine, axis=1), fine, gamma=1.0)
        if spec.streamlines:
            lines = frames.streamlines(v_fine.reshape(fine.ny, fine.nx, 2), fine)
    return frames.FieldFrame(
        t=float(t),
        tails=tails,
        vectors=vectors,
        heat=heat,
        lines=lines,
        arrows=arrows,
        heat_grid=fine,
    )


def learned_trajectories(
    *, velocity, x0: np.ndarray, solver: str, solver_steps: int, display_steps: int, reverse: bool
) -> np.ndarray:
    """Integrate x0 (n, 2) with `solver_steps` steps of `solver` (from t = 0, or back from
    t = 1 when reverse) and interpolate linearly onto t_k = k / display_steps:
    (display_steps + 1, n, 2) float32 in ascending time."""
    import torch

    from flowviz.core import solvers

    grid = solvers.time_grid(solver_steps, reverse=reverse)
    traj = solvers.integrate(
        velocity=velocity, x0=torch.from_numpy(np.array(x0, np.float32)), t_grid=grid, method=solver
    ).numpy()
    return resample(traj[::-1] if reverse else traj, display_steps)
