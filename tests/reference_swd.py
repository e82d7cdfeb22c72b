"""An independent sliced Wasserstein distance for tests: numpy, its own random directions,
quantiles on a common grid; it shares no code with flowviz.core.metrics or quality."""

import numpy as np


def swd(a: np.ndarray, b: np.ndarray, projections: int = 512, seed: int = 2024) -> float:
    """SW_2 between point sets a (n, 2) and b (m, 2): root mean over fixed random directions
    of the squared 1D W_2 between the projected quantile functions."""
    ang = np.random.default_rng(seed).uniform(0, np.pi, projections)
    theta = np.stack([np.cos(ang), np.sin(ang)])
    pa, pb = np.sort(a @ theta, axis=0), np.sort(b @ theta, axis=0)
    k = max(len(pa), len(pb))
    q = (np.arange(k) + 0.5) / k
    qa = pa[np.minimum((q * len(pa)).astype(int), len(pa) - 1)]
    qb = pb[np.minimum((q * len(pb)).astype(int), len(pb) - 1)]
    return float(np.sqrt(np.mean((qa - qb) ** 2)))
