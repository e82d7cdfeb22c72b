"""Sample quality of a learned field: sliced Wasserstein distance to the data, and the floor.

Pure torch (no Qt): the window runs these on its frame worker, the benchmark in a loop.

The floor is what a perfect sampler of the *empirical* data would score: the network is
trained towards the exact marginal field of the drawn points, whose flow ends on those
points, so the best it can do is resample them. The floor is the mean SWD between the data
and bootstrap resamples of it of the same size (same projections as the readout).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from flowviz.core import metrics, solvers

SAMPLES = 1000
SOLVER, SOLVER_STEPS = "midpoint", 32
FLOOR_DRAWS = 4

Velocity = Callable[[torch.Tensor, float], torch.Tensor]


def sample(
    *,
    velocity: Velocity,
    n: int,
    source: np.ndarray | None = None,
    sigma_min: float = 0.0,
    seed: int = 0,
    method: str = SOLVER,
    steps: int = SOLVER_STEPS,
) -> torch.Tensor:
    """n samples at t = 1 from x0 at t = 0 (N(0, I), or drawn source points plus sigma_min
    noise). The same seed gives the same x0, so successive readouts differ only by the
    network. -> (n, 2)."""
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(n, 2, generator=g)
    if source is None:
        x0 = eps
    else:
        src = torch.from_numpy(np.array(source, np.float32))
        x0 = src[torch.randint(len(src), (n,), generator=g)] + sigma_min * eps
    traj = solvers.integrate(
        velocity=velocity, x0=x0, t_grid=solvers.time_grid(steps), method=method
    )
    return traj[-1]


def distance(*, samples: torch.Tensor, data: np.ndarray) -> float:
    """SW_2 between samples (n, 2) and the data (N, 2)."""
    return metrics.sliced_wasserstein(samples, torch.from_numpy(np.array(data, np.float32)))


def floor(*, data: np.ndarray, n: int, draws: int = FLOOR_DRAWS, seed: int = 0) -> float:
    """Mean SW_2 between the data (N, 2) and n-point bootstrap resamples of it."""
    d = torch.from_numpy(np.array(data, np.float32))
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(draws):
        total += metrics.sliced_wasserstein(d[torch.randint(len(d), (n,), generator=g)], d)
    return total / draws
