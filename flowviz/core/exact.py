"""Torch-backed velocity callables for the views: the exact marginal (and conditional)
field and density of a frozen point set, and particle trajectories through any field.

They take and return numpy float32, the currency of core.frames and the worker thread.
"""

from __future__ import annotations

import numpy as np
import torch

from flowviz.core import marginal, solvers
from flowviz.core.frames import FieldFn
from flowviz.core.paths import GaussianPath


class ExactMarginal:
    """The exact marginal of a frozen point set: velocity u_t(x) and density p_t(x).

    Holds its own tensor copies, so it may be called from a worker thread while the user
    edits the data. The last call is memoised on the identity of the x array (kept alive
    by the memo, so its address cannot be reused) and t: a frame asks for velocity and
    density on the same grid, and marginal.field computes both in one pass. One instance
    per thread: the memo is not locked.
    """

    def __init__(self, *, data: np.ndarray, path: GaussianPath, source: np.ndarray | None):
        self.data = torch.from_numpy(np.array(data, dtype=np.float32))
        self.source = None if source is None else torch.from_numpy(np.array(source, np.float32))
        self.path = path
        self._memo: tuple | None = None

    def _args(self, x: np.ndarray, t: float) -> dict:
        """The keyword arguments of a core.marginal call at x (m, 2), t."""
        x = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        return {"x": x, "t": float(t), "data": self.data, "path": self.path, "source": self.source}

    def _field(self, x: np.ndarray, t: float):
        if self._memo is None or self._memo[0] is not x or self._memo[1] != float(t):
            f = marginal.field(**self._args(x, t))
            self._memo = (x, float(t), f.velocity.numpy(), f.log_density.numpy())
        return self._memo[2], self._memo[3]

    def velocity(self, x: np.ndarray, t: float) -> np.ndarray:
        """u_t(x): x (m, 2) -> (m, 2)."""
        return self._field(x, t)[0]

    def density(self, x: np.ndarray, t: float) -> np.ndarray:
        """p_t(x): x (m, 2) -> (m,), for a heat map (marginal.density: exact to 1e-9 of
        the peak, so a drawn source skips the far rows' shell sums)."""
        if self._memo is not None and self._memo[0] is x and self._memo[1] == float(t):
            return np.exp(self._memo[3])
        return marginal.density(**self._args(x, t)).numpy()

    def posterior(self, x: np.ndarray, t: float) -> np.ndarray:
        """p(z_i | x, t): x (m, 2) -> (m, N). For a probe (m small)."""
        return marginal.posterior(**self._args(x, t)).numpy()


def conditional(*, z: np.ndarray, path: GaussianPath, source: np.ndarray | None) -> ExactMarginal:
    """p_t(x|z) and u_t(x|z) for one data point z (2,): the marginal of the one-point set {z}
    (with a Gaussian source this is exactly path.conditional_velocity)."""
    return ExactMarginal(data=np.asarray(z, np.float32).reshape(1, 2), path=path, source=source)


def trajectories(
    *, field_fn: FieldFn, x0: np.ndarray, steps: int, reverse: bool, method: str = "euler"
) -> np.ndarray:
    """Integrate particles through the field on t_k = k / steps. Always returned in
    ascending time, (steps + 1, n, 2) float32, whichever way they were integrated."""

    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        return torch.from_numpy(np.asarray(field_fn(x.numpy(), t), np.float32))

    t_grid = solvers.time_grid(steps, reverse=reverse)
    traj = solvers.integrate(
        velocity=velocity, x0=torch.from_numpy(x0), t_grid=t_grid, method=method
    ).numpy()
    return np.ascontiguousarray(traj[::-1] if reverse else traj)
