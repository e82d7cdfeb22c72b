"""Sample quality of a learned field: sliced Wasserstein distance to the data, and the floor.

Pure torch (no Qt): the window runs these on its frame worker, the benchmark in a loop.

The floor is what a perfect sampler of the *empirical* data would score: the network is
trained towards the exact marginal field of the drawn points, whose flow ends on those
points, so the best it can do is resample them. The floor is the mean SWD between the data
and bootstrap resamples of it of the readout's size (same projections). The SWD of n
samples shrinks with n, so the readout and its floor always use the same n.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from flowviz.core import frames, metrics, solvers

MIN_SAMPLES, MAX_SAMPLES = 200, 2000
SOLVER, SOLVER_STEPS = "midpoint", 16  # same SWD as 32 or rk4 to 2 digits for these flows
SETS = 4  # one readout of n samples varies by ~0.25 floors; the mean of 4 by ~0.13
FLOOR_DRAWS = 4

Velocity = Callable[[torch.Tensor, float], torch.Tensor]


def sample_count(n_data: int) -> int:
    """Samples per readout: as many as data points (the floor then compares like with like:
    the SWD between two samples of one size), within [MIN_SAMPLES, MAX_SAMPLES]."""
    return int(min(max(n_data, MIN_SAMPLES), MAX_SAMPLES))


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
    noise: frames.particle_starts). The same seed gives the same x0, so successive readouts
    differ only by the network. -> (n, 2)."""
    x0 = frames.particle_starts(n=n, source=source, sigma_min=sigma_min, seed=seed)
    traj = solvers.integrate(
        velocity=velocity, x0=torch.from_numpy(x0), t_grid=solvers.time_grid(steps), method=method
    )
    return traj[-1]


def distance(*, samples: torch.Tensor, data: np.ndarray) -> float:
    """SW_2 between samples (n, 2) and the data (N, 2)."""
    return metrics.sliced_wasserstein(samples, torch.from_numpy(np.array(data, np.float32)))


def readout(
    *,
    velocity: Velocity,
    data: np.ndarray,
    source: np.ndarray | None = None,
    sigma_min: float = 0.0,
    sets: int = SETS,
) -> float:
    """The sample-quality figure: the mean SW_2 between the data (N, 2) and `sets`
    independent sets of sample_count(N) samples (fixed noise, so successive readouts
    differ only by the network)."""
    n = sample_count(len(data))
    x = sample(velocity=velocity, n=n * sets, source=source, sigma_min=sigma_min)
    return sum(distance(samples=x[i * n : (i + 1) * n], data=data) for i in range(sets)) / sets


def floor(*, data: np.ndarray, n: int, draws: int = FLOOR_DRAWS, seed: int = 0) -> float:
    """Mean SW_2 between the data (N, 2) and n-point bootstrap resamples of it. 0 when the
    points all coincide (one point, or copies of one): then no ratio exists (see ratio)."""
    d = torch.from_numpy(np.array(data, np.float32))
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(draws):
        total += metrics.sliced_wasserstein(d[torch.randint(len(d), (n,), generator=g)], d)
    return total / draws


#: A floor below this (relative to the data's scale, or absolute for data at the origin) is
#: taken as 0: float32 resamples of coinciding points differ only by rounding.
FLOOR_EPS = 1e-6


def ratio(*, swd: float, floor: float, scale: float = 1.0) -> float | None:
    """swd / floor, or None where the floor is 0 (all data points coincide: a perfect
    sampler scores 0, so the ratio is undefined) or either is not finite. scale: the
    data's typical size (e.g. its largest |coordinate|), so "0" is judged relative to it."""
    if not (np.isfinite(swd) and np.isfinite(floor)):
        return None
    if floor <= FLOOR_EPS * max(float(scale), 1.0):
        return None
    return swd / floor
