"""ODE solvers: convergence orders against a matrix-exponential solution."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from flowviz.core import solvers

A = np.array([[-0.5, -2.0], [2.0, -0.5]])  # a decaying rotation
X0 = np.array([[1.0, 0.0], [0.3, -0.7], [-1.2, 0.4]])


def velocity(x, t):
    """dx/dt = cos(t) A x: non-autonomous, so the solvers' time arguments matter.
    Exact flow: x(t) = expm(sin(t) A) x(0) (A commutes with itself)."""
    return math.cos(t) * x @ torch.as_tensor(A.T, dtype=x.dtype)


def exact(t):
    return X0 @ expm(math.sin(t) * A).T


def _error(method, steps):
    traj = solvers.integrate(
        velocity=velocity,
        x0=torch.tensor(X0),
        t_grid=solvers.time_grid(steps, dtype=torch.float64),
        method=method,
    )
    return float(np.abs(traj[-1].numpy() - exact(1.0)).max())


@pytest.mark.parametrize(("method", "order"), [("euler", 1), ("midpoint", 2), ("rk4", 4)])
def test_empirical_convergence_order(method, order):
    errors = [_error(method, s) for s in (8, 16, 32, 64)]
    rates = [math.log2(a / b) for a, b in itertools.pairwise(errors)]
    # Asymptotic rate within 0.3 on the finer pairs (float64: rk4 at 64 steps is ~1e-9,
    # far above rounding).
    assert all(abs(r - order) < 0.3 for r in rates[1:]), rates
    assert errors[-1] < 0.1**order


def test_trajectory_shape_and_first_row():
    x0 = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
    traj = solvers.integrate(velocity=velocity, x0=x0, t_grid=solvers.time_grid(5))
    assert traj.shape == (6, 7, 2) and traj.dtype == x0.dtype
    assert torch.equal(traj[0], x0)


def test_reverse_grid_runs_from_one_to_zero_and_undoes_the_flow():
    grid = solvers.time_grid(4, reverse=True)
    np.testing.assert_allclose(grid.numpy(), [1.0, 0.75, 0.5, 0.25, 0.0])
    x1 = torch.tensor(exact(1.0))
    back = solvers.integrate(
        velocity=velocity,
        x0=x1,
        t_grid=solvers.time_grid(64, reverse=True, dtype=torch.float64),
        method="rk4",
    )
    np.testing.assert_allclose(back[-1].numpy(), X0, atol=1e-8)


def test_time_grid_is_even_and_bad_inputs_raise():
    np.testing.assert_allclose(solvers.time_grid(4).numpy(), [0, 0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="steps"):
        solvers.time_grid(0)
    with pytest.raises(ValueError, match="unknown solver"):
        solvers.integrate(
            velocity=velocity, x0=torch.zeros(1, 2), t_grid=solvers.time_grid(2), method="heun"
        )
    with pytest.raises(ValueError, match="unknown solver"):
        solvers.step(velocity, torch.zeros(1, 2), 0.0, 0.1, "leapfrog")
