"""LearnedView: the network's field v_theta(x, t), particles integrated with it, and an
error map |v_theta - u_t| against the exact marginal field.

New weights arrive as a new frozen InferenceField (a fresh module per snapshot, never
trained or reloaded in place), so the frame worker can never see a half-loaded model. A
weight update is a *soft* refresh: what is on screen stays until its replacement is ready
(particles are double-buffered, frames are recomputed on demand as t reaches them), so
training several times a second does not blank or stall the animation, and the worker
only computes the frames actually shown.

Particles use their own solver and number of steps (few steps show the discretisation
error: the samples at t = 1 land off the data) and are interpolated onto the display's
time grid for drawing.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal

from flowviz.core import frames
from flowviz.gui.views.field_view import FieldView

if TYPE_CHECKING:
    import torch

    from flowviz.core.model import ModelConfig
    from flowviz.core.paths import GaussianPath

SOLVERS = ("euler", "midpoint", "rk4")
HEAT_RES = 48  # the error map is a smooth picture: 48^2 points cost half of 72^2
PARTICLE_CHUNK = 1000
MAX_EXACT_MEMO = 256
TITLE = "<b>Learned</b> &nbsp; v<sub>θ</sub>(x, t)"
HINT = " &nbsp;<small>(press Train, Ctrl+T)</small>"
ERROR_HINT = " &nbsp;<small>(blue: error |v<sub>θ</sub> − u<sub>t</sub>| / speed)</small>"
ERROR_TIP = (
    "Heat layer of the Learned view: the error |v_θ(x,t) − u_t(x)| against the exact "
    "marginal field, relative to the local speed |u_t(x)| (plus the median speed): white "
    "is exact, darkest is off by as much as the field itself. It fades as the network "
    "learns, first where p_t has mass: the network never sees points where p_t is ~0."
)


class InferenceField:
    """A frozen copy of the network for drawing: weights (a state dict of CPU tensors)
    loaded into a new module that nothing trains. Call it from one thread at a time."""

    def __init__(self, weights, model_config: ModelConfig):
        import torch

        from flowviz.core.model import VelocityMLP

        model = VelocityMLP(model_config)
        model.load_state_dict(dict(weights))
        model.eval().requires_grad_(False)
        self.model = model
        self._torch = torch

    def velocity(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """v_theta(x, t): x (n, 2) tensor -> (n, 2)."""
        with self._torch.no_grad():
            return self.model(x, float(t))

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """v_theta(x, t) for the frames: x (m, 2) float32 -> (m, 2) float32."""
        xt = self._torch.from_numpy(np.array(x, np.float32))
        return self.velocity(xt, t).numpy()


class ExactOnGrid:
    """The exact marginal u_t on the heat grid, memoised per t (it does not depend on the
    weights, so every refresh only evaluates the network). Worker thread only."""

    def __init__(self, *, data: np.ndarray, path: GaussianPath, source, res: int, lim: float):
        self.data, self.path, self.source = data, path, source
        self.grid = frames.grid(res, lim)
        self._memo: dict[float, tuple[np.ndarray, float]] = {}

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(u_t on the grid (res*res, 2), the error scale per grid point (res*res,):
        |u_t(x)| plus the median speed, so the error is relative to the local speed without
        blowing up where u_t vanishes)."""
        hit = self._memo.get(t)
        if hit is None:
            import torch

            from flowviz.core import marginal

            u = marginal.velocity(
                x=torch.from_numpy(self.grid),
                t=float(t),
                data=torch.from_numpy(np.array(self.data)),
                path=self.path,
                source=None if self.source is None else torch.from_numpy(np.array(self.source)),
            ).numpy()
            speed = np.linalg.norm(u, axis=1)
            scale = speed + max(float(np.median(speed)), 1e-6)
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
    tails = frames.grid(spec.arrow_res, spec.lim)
    vectors = np.asarray(field_fn(tails, t), np.float32)
    heat = lines = None
    need_fine = exact is not None or spec.heat == "speed" or spec.streamlines
    if need_fine:
        fine = exact.grid if exact is not None else frames.grid(spec.heat_res, spec.lim)
        v_fine = np.asarray(field_fn(fine, t), np.float32)
        if exact is not None:
            u, scale = exact.at(t)
            err = np.linalg.norm(v_fine - u, axis=1) / scale
            heat = np.ascontiguousarray(
                np.sqrt(np.clip(err, 0.0, 1.0)).reshape(spec.heat_res, spec.heat_res),
                dtype=np.float32,
            )
        elif spec.heat == "speed":
            heat = frames.normalise(np.linalg.norm(v_fine, axis=1), spec.heat_res, gamma=1.0)
        if spec.streamlines:
            lines = frames.streamlines(
                v_fine.reshape(spec.heat_res, spec.heat_res, 2), lim=spec.lim
            )
    return frames.FieldFrame(t=float(t), tails=tails, vectors=vectors, heat=heat, lines=lines)


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
    if reverse:
        traj = traj[::-1]
    f = np.arange(display_steps + 1) / display_steps * solver_steps
    k = np.minimum(f.astype(int), solver_steps - 1)
    w = (f - k).astype(np.float32)[:, None, None]
    return np.ascontiguousarray(traj[k] + w * (traj[k + 1] - traj[k]), dtype=np.float32)


class LearnedView(FieldView):
    """The third view. set_field(InferenceField or None) shows new weights (soft refresh);
    set_solver, set_solver_steps, set_error_map choose how it is drawn (the controls are
    in the Training dock).

    refreshed: emitted when the particles of the latest weights are on screen.
    """

    refreshed = Signal()

    def __init__(self, state, *, worker, style, parent=None):
        super().__init__(
            state, None, TITLE, worker=worker, style=style, solver="midpoint", parent=parent
        )
        self.solver = state.session.learned.solver
        state.learned_changed.connect(self._on_learned_changed)
        self._asked: tuple[int, float] | None = None  # (gen, t) of the frame being computed
        self._frame_gen: dict[float, int] = {}
        self._frame_key = None
        self._next: np.ndarray | None = None  # particles of the newest weights, filling
        self._next_done = 0
        self._next_gen = -1
        self._exact: ExactOnGrid | None = None
        self._exact_key = None
        self._update_title()

    # ------------------------------------------------------------ settings

    @property
    def solver_steps(self) -> int:
        return self.state.session.learned.steps

    @property
    def error_map(self) -> bool:
        return self.state.session.learned.error_map

    def _on_learned_changed(self) -> None:
        self.solver = self.state.session.learned.solver
        self._update_title()
        self.invalidate()

    def set_field(self, fn) -> None:
        super().set_field(fn)
        self._update_title()

    def _update_title(self) -> None:
        if self.field_fn is None:
            self.title.setText(TITLE + HINT)
        else:
            self.title.setText(TITLE + (ERROR_HINT if self.error_map else ""))

    # ------------------------------------------------------------ state

    def busy(self) -> bool:
        return self._asked is not None or self.refreshing()

    def refreshing(self) -> bool:
        """The newest field is not fully on screen yet: its rebuild is pending or its
        particles are still being computed."""
        pending = self._rebuild_timer.isActive()
        return pending or self._next is not None or self._ready < len(self._starts)

    def _spec(self) -> frames.FrameSpec:
        return replace(super()._spec(), heat_res=HEAT_RES)

    def _exact_grid(self) -> ExactOnGrid | None:
        s = self.state
        if not self.error_map:
            return None
        key = (id(s.data), id(s.source), s.path)
        if key != self._exact_key:
            self._exact_key = key
            self._exact = ExactOnGrid(
                data=s.data, path=s.path, source=s.source, res=HEAT_RES, lim=frames.LIM
            )
        return self._exact

    # ------------------------------------------------------------ computing

    def _rebuild(self) -> None:
        self._want = None
        self._asked = None
        self._next = None
        if not self._ready_to_compute():
            self._frames.clear()
            self._frame_gen.clear()
            self._ready = 0
            self._starts = np.zeros((0, 2), np.float32)
            self._traj = np.zeros((1, 0, 2), np.float32)
            self.scene.set_particle_starts(self._starts)
            self._shown = None
            self.scene.show_frame(None, 1)
            self.scene.show_particles(self._starts)
            self.refreshed.emit()
            return
        d, s = self._display, self.state
        frame_key = (self._spec(), d.steps, self.error_map, self._exact_grid())
        if frame_key != self._frame_key:  # a different picture: old frames cannot stand in
            self._frame_key = frame_key
            self._frames.clear()
            self._frame_gen.clear()
        starts = frames.particle_starts(
            n=d.particles, reverse=d.reverse, data=s.data, path=s.path, source=s.source
        )
        same_starts = self._traj.shape == (d.steps + 1, len(starts), 2) and np.array_equal(
            starts, self._starts
        )
        live = not (same_starts and self._ready == len(starts))
        if live:  # nothing valid to keep: fill the screen progressively
            self._starts = starts
            self._traj = np.full((d.steps + 1, len(starts), 2), np.nan, np.float32)
            self._ready = 0
            self.scene.set_particle_starts(starts)
        else:  # double-buffer: the old particles move on until the new ones are ready
            self._next = np.empty_like(self._traj)
            self._next_done = 0
        gen = self._next_gen = self._gen
        fn, solver, n_steps = self.field_fn, self.solver, self.solver_steps
        velocity = getattr(fn, "velocity", None) or _numpy_velocity(fn)
        if not len(starts):
            self.refreshed.emit()
        bounds = [*range(0, len(starts), PARTICLE_CHUNK), len(starts)]
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            x0 = starts[lo:hi]
            self.worker.submit(
                lambda x0=x0: learned_trajectories(
                    velocity=velocity,
                    x0=x0,
                    solver=solver,
                    solver_steps=n_steps,
                    display_steps=d.steps,
                    reverse=d.reverse,
                ),
                self._on_particles(gen, lo, live),
                priority=1 + 0.01 * i,
                alive=self._alive(gen),
            )
        self._draw()

    def _on_particles(self, gen: int, lo: int, live: bool):
        def done(traj: np.ndarray) -> None:
            n = traj.shape[1]
            if live:
                self._traj[:, lo : lo + n] = traj
                self._ready = max(self._ready, lo + n)
                self.scene.set_particle_starts(self._starts[: self._ready])
                if self._ready == len(self._starts):
                    self.refreshed.emit()
            elif self._next is not None and gen == self._next_gen:
                self._next[:, lo : lo + n] = traj
                self._next_done += n
                if self._next_done == len(self._starts):
                    self._traj, self._next = self._next, None
                    self.refreshed.emit()
            self._draw()

        return done

    def _request(self, t: float) -> None:
        """Compute the frame at t for the current weights (one request at a time)."""
        gen = self._gen
        if self._asked == (gen, t):
            return
        if self._asked is not None and self._asked[0] == gen:
            return  # the next _draw after it lands asks again
        self._asked = (gen, t)
        fn, spec, exact = self.field_fn, self._spec(), self._exact_grid()

        def done(frame: frames.FieldFrame) -> None:
            self._asked = None
            self._frames[frame.t] = frame
            self._frame_gen[frame.t] = gen
            if self._want == frame.t:
                self._want = None
            self._draw_frame()

        self.worker.submit(
            lambda: learned_frame(field_fn=fn, exact=exact, t=t, spec=spec),
            done,
            priority=0,
            alive=self._alive(gen),
        )

    def _request_exact(self, t: float) -> None:
        self._want = t
        self._request(t)

    # ------------------------------------------------------------ drawing

    def _draw(self) -> None:
        self._draw_frame()
        self._draw_particles(self.state.t)

    def _draw_frame(self) -> None:
        """Show the best frame for t (asking for the right one if it is missing or of
        older weights); particles are left alone (a frame landing does not move them)."""
        t = self.state.t
        if self._ready_to_compute():
            # paused: the frame at exactly t; playing: the nearest cached step
            steps = self._display.steps
            want = t if not self.state.playing else round(t * steps) / steps
            if self._frame_gen.get(want) != self._gen:
                self._request(want)
        frame = self._frames.get(t)
        if frame is None and self._frames:
            frame = self._frames[min(self._frames, key=lambda k: abs(k - t))]
        if frame is not self._shown:
            self._shown = frame
            self.scene.show_frame(frame, self._display.arrow_res)


def _numpy_velocity(fn):
    import torch

    def velocity(x, t):
        return torch.from_numpy(np.asarray(fn(x.numpy(), t), np.float32))

    return velocity
