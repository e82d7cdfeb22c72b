"""Sample quality of a learned field: sliced Wasserstein distance to the data, and the floor.

No Qt (torch, and numpy for the sorting): the window runs these on its frame worker, the
benchmark in a loop.

The floor is what a perfect sampler of *this* path scores: the network is trained towards
the exact marginal field of the drawn points, whose flow ends (for every path, a Gaussian
or a drawn source alike, since alpha_1 = 1, beta_1 = sigma_min and b_1 = 0) on the data
convolved with N(0, sigma_min^2 I). So the floor is the mean SWD between the data and sets
of that many draws of the end point distribution (same projections). One set's SWD
scatters by ~30 % from draw to draw (sigma_min 0; less when the blur dominates), so the
floor is the mean of many draws and a readout carries its uncertainty (Floor.band). The
SWD of n samples shrinks with n, so the readout and its floor always use the same n.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from flowviz.core import frames, metrics, solvers

MIN_SAMPLES, MAX_SAMPLES = 200, 2000
SOLVER, SOLVER_STEPS = "midpoint", 16  # same SWD as 32 or rk4 to 2 digits for these flows
#: A readout is the mean over sets of n samples: one set's SWD scatters by ~30 % of the
#: floor (sigma_min 0), so small data sets get more sets, up to ~6000 samples in all.
MIN_SETS, READOUT_SAMPLES = 4, 6000
FLOOR_DRAWS = 48  # the floor's own error is then ~5 % (sigma_min 0), less than a readout's

Velocity = Callable[[torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class Floor:
    """What a perfect sampler scores: mean (the SW_2 between the data and one set of n
    draws of the exact end point distribution, averaged over `draws` sets), spread (the
    standard deviation of one set's SW_2 over those draws), and the sets a readout of this
    data averages (set_count)."""

    mean: float
    spread: float
    draws: int
    sets: int = MIN_SETS

    def band(self) -> float:
        """The half-width, in floors, of the range a perfect sampler's readout (the mean
        over `sets` sets) divided by this floor falls in: two standard deviations (~95 %)
        of the readout's own scatter and the floor's estimation error together. A readout
        within 1 +- band cannot be told from perfect. 0 when the floor is 0."""
        if not self.mean > 0:
            return 0.0
        return 2 * self.spread / self.mean * math.sqrt(1.0 / self.sets + 1.0 / self.draws)


def set_count(n_data: int) -> int:
    """Sets per readout: as many as READOUT_SAMPLES allows, at least MIN_SETS."""
    return max(MIN_SETS, READOUT_SAMPLES // sample_count(n_data))


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


class _Projected:
    """The data's sorted projections on metrics.sliced_wasserstein's directions, made once:
    the floor and a readout compare many sample sets with the same data, and sorting
    dominates (numpy's sort of contiguous rows is several times torch's column sort here).
    distance(x) equals metrics.sliced_wasserstein(x, data)."""

    def __init__(self, data: np.ndarray):
        self.theta = metrics.directions().numpy()  # (P, 2)
        self.data = self._sorted(data)

    def _sorted(self, x) -> np.ndarray:
        """(n, 2) points -> (P, n) sorted projections, one row per direction."""
        p = self.theta @ np.asarray(x, np.float32).astype(np.float64).T
        p.sort(axis=1)
        return p

    def distance(self, samples) -> float:
        pa, pb = self._sorted(samples), self.data
        k = max(pa.shape[1], pb.shape[1])
        q = (np.arange(k, dtype=np.float64) + 0.5) / k
        if pa.shape[1] != k:
            pa = pa[:, np.minimum((q * pa.shape[1]).astype(np.int64), pa.shape[1] - 1)]
        if pb.shape[1] != k:
            pb = pb[:, np.minimum((q * pb.shape[1]).astype(np.int64), pb.shape[1] - 1)]
        return float(np.sqrt(np.mean(np.square(pa - pb))))


def score(*, samples: torch.Tensor, data: np.ndarray, sets: int | None = None) -> float:
    """The mean SW_2 between the data (N, 2) and `sets` consecutive sets of
    sample_count(N) samples (samples: (sets * sample_count(N), 2))."""
    n, sets = sample_count(len(data)), sets or set_count(len(data))
    if len(samples) != n * sets:
        raise ValueError(f"score needs {sets} sets of {n} samples, got {len(samples)} samples")
    x, proj = np.asarray(samples.detach().cpu(), np.float32), _Projected(data)
    return sum(proj.distance(x[i * n : (i + 1) * n]) for i in range(sets)) / sets


def readout(
    *,
    velocity: Velocity,
    data: np.ndarray,
    source: np.ndarray | None = None,
    sigma_min: float = 0.0,
    sets: int | None = None,
) -> float:
    """The sample-quality figure: score() of `sets` independent sets of sample_count(N)
    samples of the velocity's flow (fixed noise, so successive readouts differ only by the
    network)."""
    n, sets = sample_count(len(data)), sets or set_count(len(data))
    x = sample(velocity=velocity, n=n * sets, source=source, sigma_min=sigma_min)
    return score(samples=x, data=data, sets=sets)


def endpoint(*, data: np.ndarray, n: int, sigma_min: float = 0.0, seed: int = 0) -> torch.Tensor:
    """n draws of where the exact flow ends: the data (N, 2) convolved with
    N(0, sigma_min^2 I) (a data point picked at random plus sigma_min noise). -> (n, 2)."""
    g = torch.Generator().manual_seed(seed)
    d = torch.from_numpy(np.array(data, np.float32))
    x = d[torch.randint(len(d), (n,), generator=g)]
    if sigma_min > 0:
        x = x + sigma_min * torch.randn(n, 2, generator=g)
    return x


def floor(
    *,
    data: np.ndarray,
    n: int | None = None,
    sigma_min: float = 0.0,
    draws: int = FLOOR_DRAWS,
    seed: int = 0,
) -> Floor:
    """The SW_2 between the data (N, 2) and `draws` sets of n (default sample_count(N))
    draws of the exact end point (endpoint()): their mean and spread. Mean 0 when
    sigma_min is 0 and the points all coincide (one point, or copies of one): then no
    ratio exists (see ratio)."""
    n = sample_count(len(data)) if n is None else n
    g = torch.Generator().manual_seed(seed)
    seeds = torch.randint(2**62, (draws,), generator=g).tolist()
    proj = _Projected(data)
    d = [
        proj.distance(endpoint(data=data, n=n, sigma_min=sigma_min, seed=s).numpy()) for s in seeds
    ]
    spread = float(np.std(d, ddof=1)) if draws > 1 else 0.0
    return Floor(mean=float(np.mean(d)), spread=spread, draws=draws, sets=set_count(len(data)))


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
