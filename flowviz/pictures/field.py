"""FieldPicture: how a field view's frames and particles are computed, and compose(),
which turns them into the ViewFrame drawn at t."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from flowviz.core import frames
from flowviz.session import Display

#: Trails of more particles are a grey fog and cost frame rate.
MAX_TRAILS = 800


@dataclass(frozen=True, eq=False)
class FieldPicture:
    """A field view's content for one Session (and one set of weights).

    frame(t) -> FieldFrame: the field at t (pure; call from one thread at a time: fields
    memoise). trajectories(x0 (k, 2)) -> (steps + 1, k, 2) float32 positions on
    t_k = k / display.steps in ascending time (forward from the source, or back from the
    data when display.reverse). starts: the particles' start points (n, 2).

    ahead: compute the frames of every time step ahead (an exact field: the animation then
    plays from cache); otherwise frames are computed when shown. layout: frames of another
    picture with an equal layout may stand in while this one's are computed (new weights of
    the same network), and its particles stay until the new ones are ready. field: the
    velocity field x (m, 2), t -> (m, 2) itself, for readouts. preview: optional cheap
    stand-in for trajectories (the same shape, fewer solver steps interpolated), shown
    while the full ones are computed; at() never uses it."""

    frame: Callable[[float], frames.FieldFrame]
    trajectories: Callable[[np.ndarray], np.ndarray]
    starts: np.ndarray
    display: Display
    data: np.ndarray
    source: np.ndarray | None
    ahead: bool = True
    layout: Hashable | None = None
    field: Callable[[np.ndarray, float], np.ndarray] | None = None
    heat_label: tuple[str, str, str] = frames.HEAT_LABELS["density"]
    preview: Callable[[np.ndarray], np.ndarray] | None = None
    _memo: dict = dataclasses.field(default_factory=dict, repr=False)

    def at(self, t: float) -> frames.ViewFrame:
        """The ViewFrame at t, computed now (the particles once, on first call)."""
        traj = self._memo.get("traj")
        if traj is None:
            traj = self._memo["traj"] = self.trajectories(self.starts)
        return compose(self, t, self.frame(t), traj)


def compose(
    picture: FieldPicture, t: float, frame: frames.FieldFrame | None, traj: np.ndarray
) -> frames.ViewFrame:
    """The ViewFrame of picture at t from its field frame and the particle trajectories
    computed so far (traj (steps + 1, k, 2): the first k particles)."""
    d = picture.display
    k = traj.shape[1]
    if k:
        pos = frames.at_time(traj, t)
        trails = (
            frames.trail_lines(traj[:, :MAX_TRAILS], t, d.trails, reverse=d.reverse)
            if d.trails > 0
            else None
        )
    else:
        pos, trails = np.zeros((0, 2), np.float32), None
    return frames.ViewFrame(
        t=float(t),
        field=frame,
        arrows=d.arrows,
        particles=pos,
        starts=picture.starts[:k],
        trails=trails,
        heat_label=picture.heat_label,
        data=picture.data if d.show_data else _NONE,
        source=picture.source if d.show_data else None,
    )


_NONE = np.zeros((0, 2), np.float32)


#: Display settings that change what a field frame or a trajectory contains; the others
#: (arrow drawing between length and colour, trails, data, playback) only change drawing.
FRAME_KEYS = ("heat", "arrow_res", "steps", "particles", "reverse")


def restyled(picture: FieldPicture, display: Display) -> FieldPicture | None:
    """picture drawn with new display settings when its frames and particles still hold
    (the same functions: a view swaps it in without recomputing), else None."""
    old = picture.display
    streams = (old.arrows == "streamlines") != (display.arrows == "streamlines")
    if streams or any(getattr(old, k) != getattr(display, k) for k in FRAME_KEYS):
        return None
    return dataclasses.replace(picture, display=display, _memo=picture._memo)


def share_particles(picture: FieldPicture, other: FieldPicture) -> FieldPicture:
    """picture moving other's particles (the same trajectory functions and starts): a view
    given it keeps the particles it has (FieldView), only the frames are recomputed."""
    return dataclasses.replace(
        picture, trajectories=other.trajectories, preview=other.preview, starts=other.starts
    )


def resample(traj: np.ndarray, steps: int) -> np.ndarray:
    """traj (n_steps + 1, k, 2) on t_j = j / n_steps, ascending, linearly interpolated onto
    t_k = k / steps: (steps + 1, k, 2) float32."""
    n_steps = traj.shape[0] - 1
    f = np.arange(steps + 1) / steps * n_steps
    k = np.minimum(f.astype(int), n_steps - 1)
    w = (f - k).astype(np.float32)[:, None, None]
    return np.ascontiguousarray(traj[k] + w * (traj[k + 1] - traj[k]), dtype=np.float32)


def spec_of(display: Display, extent: tuple[float, float], **changes) -> frames.FrameSpec:
    """The FrameSpec of the display settings (what a field frame contains) for a view
    showing the half-widths extent (frames.view_extent)."""
    spec = frames.FrameSpec(
        arrow_res=display.arrow_res,
        heat=display.heat,
        streamlines=display.arrows == "streamlines",
        extent=extent,
    )
    return dataclasses.replace(spec, **changes)


def path_of(session):
    """The GaussianPath of the Session's PathSpec (imports torch)."""
    from flowviz.core import paths

    p = session.path
    return paths.make(p.name, sigma_min=p.sigma_min, n=p.n)


def starts_of(session, path) -> np.ndarray:
    """Where the particles of a field view of session start (frames.particle_starts)."""
    d = session.display
    return frames.particle_starts(
        n=d.particles,
        reverse=d.reverse,
        data=session.data,
        source=session.source,
        sigma_min=path.sigma_min,
    )


def check_data(session) -> None:
    if not len(session.data):
        raise ValueError("no data points to show: draw some or pick a preset")
