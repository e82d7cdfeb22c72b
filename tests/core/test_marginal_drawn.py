"""The pruned drawn-source mixture (core.neighbours via core.marginal) against a brute-force
float64 sum over all N M components, in the bulk, in the tails and at the ends of [0, 1]."""

import math

import numpy as np
import pytest
import torch
from core_reference import component_log_pdf
from scipy.special import logsumexp, softmax

from flowviz.core import data, marginal, neighbours, paths


def brute_force(x, t, Z, S, sig):
    """(log p (m,), velocity (m, 2), posterior over z (m, N)) in float64 over every pair
    (z_i, s_j): CondOT, mean t z + b s, b = 1 - t, width sig, pair field z - s."""
    x, z, s = (np.asarray(v, np.float64) for v in (x, Z, S))
    t = min(t, paths.T_MAX)
    b = ((1 - (1 - sig) * t) - sig) / (1 - sig)
    db = -1.0
    means = (t * z[:, None, :] + b * s[None, :, :]).reshape(-1, 2)
    lp = component_log_pdf(x, means, sig)
    w = softmax(lp, axis=1)
    u = (z[:, None, :] + (db / 1.0) * s[None, :, :]).reshape(-1, 2)
    post = w.reshape(len(x), len(z), len(s)).sum(-1)
    return logsumexp(lp, axis=1) - math.log(len(means)), w @ u, post


@pytest.fixture(scope="module")
def clouds():
    Z = data.preset("moons", 40, seed=2).double()
    S = data.preset("eight-gaussians", 23, seed=5).double()
    return Z, S


QUERIES = np.concatenate(
    [
        np.stack(np.meshgrid(np.linspace(-3, 3, 9), np.linspace(-3, 3, 9)), -1).reshape(-1, 2),
        [[12.0, -9.0], [-30.0, 25.0], [0.0, 60.0]],  # far from every component
    ]
)


@pytest.mark.parametrize("sig", [0.03, 0.1, 0.4])
@pytest.mark.parametrize("t", [0.0, 1e-3, 0.3, 0.7, 0.999, 1.0])
def test_field_matches_brute_force(clouds, sig, t):
    Z, S = clouds
    path = paths.make("condot", sigma_min=sig)
    f = marginal.field(x=torch.tensor(QUERIES), t=t, data=Z, path=path, source=S)
    lp_ref, u_ref, _ = brute_force(QUERIES, t, Z, S, sig)
    assert torch.isfinite(f.velocity).all() and torch.isfinite(f.log_density).all()
    np.testing.assert_allclose(f.log_density.numpy(), lp_ref, rtol=1e-4, atol=1e-6)
    scale = np.abs(u_ref).max(1, keepdims=True) + 1
    np.testing.assert_allclose(f.velocity.numpy() / scale, u_ref / scale, atol=1e-4)


@pytest.mark.parametrize("t", [0.0, 0.5, 0.999])
def test_posterior_matches_brute_force_and_sums_to_one(clouds, t):
    Z, S = clouds
    path = paths.make("condot", sigma_min=0.08)
    w = marginal.posterior(x=torch.tensor(QUERIES), t=t, data=Z, path=path, source=S).numpy()
    assert w.shape == (len(QUERIES), len(Z))
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-10)
    np.testing.assert_allclose(w, brute_force(QUERIES, t, Z, S, 0.08)[2], atol=1e-6)


def test_float32_and_per_row_t(clouds):
    """float32 rows with their own t agree with the float64 brute force row by row."""
    Z, S = clouds
    sig = 0.05
    path = paths.make("condot", sigma_min=sig)
    g = torch.Generator().manual_seed(1)
    x = 2 * torch.randn(60, 2, generator=g)
    t = torch.rand(60, generator=g)
    t[:3] = torch.tensor([0.0, 1.0, 0.5])
    f = marginal.field(x=x, t=t, data=Z.float(), path=path, source=S.float())
    for i in range(60):
        lp, u, _ = brute_force(x[i : i + 1].numpy(), float(t[i]), Z, S, sig)
        np.testing.assert_allclose(f.log_density[i].item(), lp[0], rtol=1e-4)
        np.testing.assert_allclose(f.velocity[i].numpy(), u[0], rtol=1e-3, atol=1e-3)


def test_pruning_actually_prunes_and_keeps_what_matters():
    """Far fewer than all triples are kept for a narrow width, and dropping the cut-off
    changes nothing above PRUNE_TOL (so the test can fail if the bound were wrong)."""
    Z = data.preset("moons", 300, seed=0).double()
    S = data.preset("circles", 100, seed=1).double()
    x = torch.tensor(QUERIES[:81])
    a, c = torch.full((81,), 0.6), torch.full((81,), 0.4)
    got = neighbours.evaluate(x=x, a=a, c=c, w=0.03, data=Z, source=S)
    lp, u, _ = brute_force(QUERIES[:81], 0.6, Z, S, 0.03)
    np.testing.assert_allclose(
        got.log_mass.numpy() - math.log(300 * 100),
        lp + math.log(2 * math.pi * 0.03**2),
        rtol=1e-6,
        atol=1e-9,
    )
    # dropped mass <= PRUNE_TOL of the kept: |error| <= 2 PRUNE_TOL max|u_ij - u| ~ 1e-6
    np.testing.assert_allclose((got.mean_z - got.mean_s).numpy(), u, atol=2e-6)
    q = neighbours._Tree(x, neighbours.LEAF)
    zt, st = neighbours._Tree(Z, neighbours.LEAF), neighbours._Tree(S, neighbours.LEAF)
    tri = neighbours._kept_triples(
        q, a[q.index], c[q.index], zt, st, 2 * 0.03**2 * math.log(3e4 / neighbours.PRUNE_TOL)
    )
    total = (2**q.levels) * (2**zt.levels) * (2**st.levels)
    assert tri.shape[0] < total / 3


def test_memory_stays_bounded_for_a_large_drawn_source():
    """1000 x 1000 pairs (the old code built (m, N M) exponent matrices): a few rows are
    fine and agree with a brute force over the components near them."""
    Z = data.preset("moons", 1000, seed=0)
    S = data.preset("circles", 1000, seed=1)
    path = paths.make("condot", sigma_min=0.05)
    x = torch.tensor([[0.3, 0.2], [1.0, -0.4], [8.0, 8.0]])
    f = marginal.field(x=x, t=0.6, data=Z, path=path, source=S)
    lp, u, _ = brute_force(x.numpy(), 0.6, Z, S, 0.05)
    np.testing.assert_allclose(f.log_density.numpy(), lp, rtol=1e-4)
    np.testing.assert_allclose(f.velocity.numpy(), u, rtol=1e-3, atol=1e-3)


def test_tightened_pruning_keeps_every_query_nearest_component():
    """_tighten (exact nearest distances from one dense triple per query leaf) keeps a
    subset of the box-bound triples, fewer for a narrow width, and still the triple that
    holds each query's nearest component (which the error bound needs)."""
    Z = data.preset("moons", 300, seed=0).double()
    S = data.preset("circles", 100, seed=1).double()
    x = torch.tensor(QUERIES)
    m = len(x)
    a, c, w = torch.full((m,), 0.6), torch.full((m,), 0.4), 0.03
    q = neighbours._Tree(x, neighbours.LEAF)
    zt, st = neighbours._Tree(Z, neighbours.LEAF), neighbours._Tree(S, neighbours.LEAF)
    aq, cq = a[q.index].double(), c[q.index].double()
    reach = 2 * w**2 * math.log(3e4 / neighbours.PRUNE_TOL)
    boxed = neighbours._kept_triples(q, aq, cq, zt, st, reach)
    tight = neighbours._tighten(q, aq, cq, zt, st, boxed, reach)
    assert tight.shape[0] < boxed.shape[0]
    kept_box = {tuple(v) for v in boxed.tolist()}
    kept = {tuple(v) for v in tight.tolist()}
    assert kept <= kept_box
    # the first n slots of a tree hold its real points, in Morton order: point -> leaf
    z_leaf = torch.empty(len(Z), dtype=torch.int64)
    z_leaf[zt.index[: zt.n]] = torch.arange(zt.n) // neighbours.LEAF
    s_leaf = torch.empty(len(S), dtype=torch.int64)
    s_leaf[st.index[: st.n]] = torch.arange(st.n) // neighbours.LEAF
    means = (0.6 * Z[:, None, :] + 0.4 * S[None, :, :]).reshape(-1, 2)
    nearest = ((x[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    for slot in range(q.n):
        row = int(q.index[slot])
        i, j = divmod(int(nearest[row]), len(S))
        assert (slot // neighbours.LEAF, int(z_leaf[i]), int(s_leaf[j])) in kept
