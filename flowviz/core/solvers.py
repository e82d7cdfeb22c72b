"""Fixed-step ODE solvers dx/dt = v(x, t) that return the whole trajectory (integrate) or
only where it ends (final_state, which holds one state at a time: sampling a million
points over a thousand steps needs 8 MB, not 8 GB).

Any velocity callable works: the learned model, the exact marginal field, a conditional
field. A decreasing time grid runs the flow backwards (data -> noise).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from flowviz.core import choices

Velocity = Callable[[torch.Tensor, float], torch.Tensor]
METHODS = choices.SOLVERS


def time_grid(steps: int, *, reverse: bool = False, dtype=torch.float32) -> torch.Tensor:
    """steps + 1 evenly spaced times from 0 to 1 (or 1 to 0): (steps + 1,)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    grid = torch.linspace(0.0, 1.0, steps + 1, dtype=dtype)
    return grid.flip(0) if reverse else grid


def step(velocity: Velocity, x: torch.Tensor, t: float, h: float, method: str) -> torch.Tensor:
    """One step of size h (may be negative) from (x, t). x (n, 2) -> (n, 2)."""
    if method == "euler":
        return x + h * velocity(x, t)
    if method == "midpoint":
        return x + h * velocity(x + 0.5 * h * velocity(x, t), t + 0.5 * h)
    if method == "rk4":
        k1 = velocity(x, t)
        k2 = velocity(x + 0.5 * h * k1, t + 0.5 * h)
        k3 = velocity(x + 0.5 * h * k2, t + 0.5 * h)
        k4 = velocity(x + h * k3, t + h)
        return x + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    raise ValueError(f"unknown solver {method!r}; choose one of {', '.join(METHODS)}")


@torch.no_grad()
def integrate(
    *, velocity: Velocity, x0: torch.Tensor, t_grid: torch.Tensor, method: str = "midpoint"
) -> torch.Tensor:
    """Trajectory of x0 (n, 2) over t_grid (T,): (T, n, 2), the first row being x0."""
    if method not in METHODS:
        raise ValueError(f"unknown solver {method!r}; choose one of {', '.join(METHODS)}")
    times = [float(s) for s in t_grid]
    out = torch.empty((len(times), *x0.shape), dtype=x0.dtype, device=x0.device)
    out[0] = x0
    x = x0
    for i in range(len(times) - 1):
        x = step(velocity, x, times[i], times[i + 1] - times[i], method)
        out[i + 1] = x
    return out


@torch.no_grad()
def final_state(
    *, velocity: Velocity, x0: torch.Tensor, t_grid: torch.Tensor, method: str = "midpoint"
) -> torch.Tensor:
    """integrate(...)[-1] without keeping the trajectory: (n, 2), bit for bit the same."""
    if method not in METHODS:
        raise ValueError(f"unknown solver {method!r}; choose one of {', '.join(METHODS)}")
    times = [float(s) for s in t_grid]
    x = x0
    for i in range(len(times) - 1):
        x = step(velocity, x, times[i], times[i + 1] - times[i], method)
    return x
