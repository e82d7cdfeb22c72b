"""How source points x0 are paired with data points z within a minibatch.

independent: as drawn (I-CFM). ot: the exact minibatch optimal-transport assignment under
squared distance (scipy's linear_sum_assignment), which straightens the paths. sinkhorn:
pairs drawn from the entropic OT plan (regularised; tends to ot as reg -> 0).
"""

from __future__ import annotations

import torch

from flowviz.core import choices

NAMES = tuple(choices.COUPLINGS)


def pair(
    *,
    x0: torch.Tensor,
    z: torch.Tensor,
    method: str = "independent",
    generator: torch.Generator | None = None,
    reg: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reordered (x0, z), both (n, 2): row i of each forms a pair."""
    if method == "independent":
        return x0, z
    if method == "ot":
        from scipy.optimize import linear_sum_assignment

        cost = torch.cdist(x0.double(), z.double()).square().cpu().numpy()
        rows, cols = linear_sum_assignment(cost)
        rows_t = torch.as_tensor(rows, device=x0.device)
        cols_t = torch.as_tensor(cols, device=z.device)
        return x0[rows_t], z[cols_t]
    if method == "sinkhorn":
        plan = sinkhorn_plan(x0=x0, z=z, reg=reg)
        cols = torch.multinomial(plan / plan.sum(1, keepdim=True), 1, generator=generator)
        return x0, z[cols[:, 0].to(z.device)]
    raise ValueError(f"unknown coupling {method!r}; choose one of {', '.join(NAMES)}")


def sinkhorn_plan(
    *, x0: torch.Tensor, z: torch.Tensor, reg: float = 0.05, iters: int = 200
) -> torch.Tensor:
    """Entropic OT plan between uniform x0 (n, 2) and z (m, 2): (n, m), summing to 1.
    reg is relative to the mean squared distance; log-domain iterations stay stable."""
    cost = torch.cdist(x0.double(), z.double()).square()
    eps = reg * float(cost.mean()) + 1e-12
    n, m = cost.shape
    log_a = torch.full((n,), -torch.log(torch.tensor(float(n))), dtype=cost.dtype)
    log_b = torch.full((m,), -torch.log(torch.tensor(float(m))), dtype=cost.dtype)
    log_a, log_b = log_a.to(cost.device), log_b.to(cost.device)
    f = torch.zeros(n, dtype=cost.dtype, device=cost.device)
    g = torch.zeros(m, dtype=cost.dtype, device=cost.device)
    for _ in range(iters):
        f = eps * (log_a - torch.logsumexp((g[None, :] - cost) / eps, dim=1))
        g = eps * (log_b - torch.logsumexp((f[:, None] - cost) / eps, dim=0))
    return torch.exp((f[:, None] + g[None, :] - cost) / eps).to(x0.dtype)
