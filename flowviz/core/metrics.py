"""Sample quality: the sliced Wasserstein distance between two point sets."""

from __future__ import annotations

import torch


def sliced_wasserstein(
    a: torch.Tensor, b: torch.Tensor, *, projections: int = 256, seed: int = 0
) -> float:
    """SW_2 between point sets a (n, 2) and b (m, 2): the root mean over random directions
    of the squared 1D Wasserstein-2 distance, 1D quantiles matched on a common grid."""
    theta = directions(projections, seed)
    pa = (a.detach().cpu().double() @ theta.T).sort(dim=0).values
    pb = (b.detach().cpu().double() @ theta.T).sort(dim=0).values
    k = max(len(pa), len(pb))
    q = (torch.arange(k, dtype=torch.float64) + 0.5) / k
    qa = pa[(q * len(pa)).long().clamp_max(len(pa) - 1)]
    qb = pb[(q * len(pb)).long().clamp_max(len(pb) - 1)]
    return float((qa - qb).square().mean().sqrt())


def directions(projections: int = 256, seed: int = 0) -> torch.Tensor:
    """The random unit directions sliced_wasserstein projects on. -> (projections, 2) float64."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(projections, 2, generator=g, dtype=torch.float64)
    return theta / theta.norm(dim=1, keepdim=True)
