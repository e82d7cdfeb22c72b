"""The drawn-source mixture at one t: core.gridded (the lattice convolution) where it holds
and core.tails (exact shell sums) elsewhere, each against a brute-force float64 sum over
all N M components, in the bulk, at the lattice's edge and far out."""

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp, softmax

from flowviz.core import data, gridded, marginal, neighbours, paths, tails


def brute(x, a, c, da, dc, w, Z, S):
    """log sum_ij exp(-|x - a z_i - c s_j|^2 / (2 w^2)) and the posterior mean of
    da z_i + dc s_j, over every pair, in float64."""
    x, z, s = (np.asarray(v, np.float64) for v in (x, Z, S))
    means = (a * z[:, None, :] + c * s[None, :, :]).reshape(-1, 2)
    vals = (da * z[:, None, :] + dc * s[None, :, :]).reshape(-1, 2)
    e = -((x[:, None, :] - means[None]) ** 2).sum(-1) / (2 * w * w)
    return logsumexp(e, axis=1), softmax(e, axis=1) @ vals


def near(got, want, tol):
    """|got - want| <= tol (1 + |want|) elementwise: relative for large values."""
    got, want = np.asarray(got), np.asarray(want)
    err = np.abs(got - want) / (1 + np.abs(want))
    assert err.max() <= tol, f"max scaled error {err.max():.3g} > {tol}"


@pytest.fixture(scope="module")
def clouds():
    Z = data.preset("moons", 150, seed=2).double()
    S = data.preset("eight-gaussians", 40, seed=5).double()
    return Z, S


GRID = np.stack(np.meshgrid(np.linspace(-3, 3, 25), np.linspace(-3, 3, 21)), -1).reshape(-1, 2)
FAR = np.array([[12.0, -9.0], [-30.0, 25.0], [0.0, 60.0], [4.0, 0.0], [0.0, -3.5]])
# (a, c) as CondOT gives them at t = 0, 0.3, 0.7, T_MAX and 1 (c = 0 exactly)
SCALES = [(0.0, 1.0), (0.3, 0.7), (0.7, 0.3), (1 - 1e-4, 1e-4), (1.0, 0.0)]


def scattered(Z, S, a, c, w, n=400, seed=0):
    """Points drawn from the mixture itself, plus a few beside it."""
    g = np.random.default_rng(seed)
    pts = a * Z.numpy()[g.integers(0, len(Z), n)] + c * S.numpy()[g.integers(0, len(S), n)]
    return pts + w * g.standard_normal((n, 2)) * g.choice([1.0, 3.0, 6.0], (n, 1))


@pytest.mark.parametrize("w", [0.03, 0.1, 0.4])
@pytest.mark.parametrize("a,c", SCALES)
def test_lattice_rows_match_brute_force(clouds, a, c, w):
    """Covered rows agree to rounding level on a tensor grid (two matrix products) and on
    scattered rows (gathered windows), and the lattice covers where the mass is."""
    Z, S = clouds
    if not gridded.fits(Z, S, a, c, w):
        pytest.skip("lattice too large at this width")
    lat = gridded.Lattice(a=a, c=c, da=1.3, dc=-0.7, w=w, data=Z, source=S)
    for pts in (GRID, scattered(Z, S, a, c, w)):
        cov = lat.evaluate(torch.tensor(pts))
        rows = cov.rows.numpy()
        lm, v = brute(pts[rows], a, c, 1.3, -0.7, w, Z, S)
        assert rows.sum() >= 20
        np.testing.assert_allclose(cov.log_mass.numpy(), lm, rtol=0, atol=1e-5)
        near(cov.velocity.numpy(), v, 1e-5)
    # the mixture's own samples within one width of a component are all covered
    samples = scattered(Z, S, a, c, w, seed=1)
    lm, _ = brute(samples, a, c, 1.3, -0.7, w, Z, S)
    cov = lat.evaluate(torch.tensor(samples))
    assert cov.rows.numpy()[lm > -0.5].all()


def test_a_coarser_lattice_is_caught(clouds, monkeypatch):
    """The tolerance above is tight enough to see the Riemann sums' error: at half the
    integrand width per node the same comparison fails."""
    Z, S = clouds
    monkeypatch.setattr(gridded, "RHO", 0.45)
    lat = gridded.Lattice(a=0.5, c=0.5, da=1.0, dc=-1.0, w=0.1, data=Z, source=S)
    cov = lat.evaluate(torch.tensor(GRID))
    lm, _ = brute(GRID[cov.rows.numpy()], 0.5, 0.5, 1.0, -1.0, 0.1, Z, S)
    assert np.abs(cov.log_mass.numpy() - lm).max() > 1e-4


@pytest.mark.parametrize("w", [0.03, 0.1])
@pytest.mark.parametrize("a,c", SCALES)
def test_shell_sums_match_brute_force_anywhere(clouds, a, c, w):
    """core.tails is exact for any row (it is used for the rows off the lattice): bulk,
    lattice edge and far tails, to 1e-9."""
    Z, S = clouds
    pts = np.concatenate([GRID, FAR, scattered(Z, S, a, c, w, n=100)])
    log_cut = math.log(len(Z) * len(S) / neighbours.PRUNE_TOL)
    lm, v = tails.evaluate(
        x=torch.tensor(pts), a=a, c=c, da=1.3, dc=-0.7, w=w, data=Z, source=S, log_cut=log_cut
    )
    lm_ref, v_ref = brute(pts, a, c, 1.3, -0.7, w, Z, S)
    np.testing.assert_allclose(lm.numpy(), lm_ref, rtol=1e-12, atol=1e-9)
    near(v.numpy(), v_ref, 1e-9)


def test_shell_sums_keep_far_fewer_pairs_than_all(clouds, monkeypatch):
    """Far out only a thin shell of pairs is summed: count the pairs reaching the sums."""
    Z, S = clouds
    seen = []
    add = tails._Sums.add
    monkeypatch.setattr(
        tails._Sums, "add", lambda self, row, *r: (seen.append(len(row)), add(self, row, *r))[1]
    )
    log_cut = math.log(len(Z) * len(S) / neighbours.PRUNE_TOL)
    far = torch.tensor(FAR[:3])
    tails.evaluate(x=far, a=0.5, c=0.5, da=1.0, dc=-1.0, w=0.05, data=Z, source=S, log_cut=log_cut)
    assert 0 < sum(seen) < 0.05 * len(far) * len(Z) * len(S)


@pytest.mark.parametrize("t", [0.0, 0.4, 0.93, 1.0])
def test_marginal_field_through_lattice_and_tails(clouds, t):
    """marginal.field with enough pairs and rows takes the lattice + shell route; the
    density and the field match the brute force (float32 rows, as the views send)."""
    Z, S = clouds
    sig = 0.05
    path = paths.make("condot", sigma_min=sig)
    assert len(Z) * len(S) >= marginal.LATTICE_PAIRS
    pts = np.concatenate([GRID, FAR]).astype(np.float32)
    f = marginal.field(x=torch.tensor(pts), t=t, data=Z.float(), path=path, source=S.float())
    k = marginal._coeffs(path, torch.tensor([t], dtype=torch.float64), True)
    a, c, da, dc = (float(v[0]) for v in (k.a, k.c, k.da, k.dc))
    lm, v = brute(pts.astype(np.float64), a, c, da, dc, sig, Z.float(), S.float())
    lp = lm - math.log(len(Z) * len(S)) - math.log(2 * math.pi * sig * sig)
    np.testing.assert_allclose(f.log_density.numpy(), lp, rtol=1e-4, atol=1e-4)
    scale = np.abs(v).max(1, keepdims=True) + 1
    np.testing.assert_allclose(f.velocity.numpy() / scale, v / scale, atol=1e-4)


def test_too_wide_a_lattice_falls_back_to_the_shell_sums(clouds):
    """A tiny width over a wide spread would need more than MAX_NODES per axis: the field
    is then summed by core.tails alone, still exactly."""
    Z, S = clouds
    Zw = Z * 40
    assert not gridded.fits(Zw, S, 0.5, 0.5, 0.02)
    path = paths.make("condot", sigma_min=0.02)
    pts = np.concatenate([GRID * 20, scattered(Zw, S, 0.5, 0.5 * (1 - 0.02) + 0.02, 0.02, 80)])
    f = marginal.field(x=torch.tensor(pts), t=0.5, data=Zw, path=path, source=S)
    k = marginal._coeffs(path, torch.tensor([0.5], dtype=torch.float64), True)
    a, c, da, dc = (float(v[0]) for v in (k.a, k.c, k.da, k.dc))
    lm, v = brute(pts, a, c, da, dc, 0.02, Zw, S)
    lp = lm - math.log(len(Z) * len(S)) - math.log(2 * math.pi * 0.02**2)
    np.testing.assert_allclose(f.log_density.numpy(), lp, rtol=1e-6)
    near(f.velocity.numpy(), v, 1e-6)


LARGE = """
import resource, sys, torch
from flowviz.core import data, marginal, paths
torch.set_num_threads(1)
Z = data.preset("moons", 2000, seed=0)
S = data.preset("circles", 2000, seed=1)
x = torch.stack(torch.meshgrid(torch.linspace(-3, 3, 64), torch.linspace(-3, 3, 64),
                               indexing="ij"), -1).reshape(-1, 2)
path = paths.make("condot", sigma_min=0.05)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
f = marginal.field(x=x, t=0.6, data=Z, path=path, source=S)
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
torch.save({"v": f.velocity, "lp": f.log_density, "grew_kb": grew}, sys.argv[1])
"""


def test_a_large_drawn_source_at_many_rows_stays_small(tmp_path):
    """2000 x 2000 pairs (4M components: 64 MB as float64 means, and a 64 x 64 grid
    against all of them would be 128 GB) in a fresh process: the lattice and the shell sums
    never build them, the peak memory grows by less than 200 MB, and sampled rows agree
    with a brute force summed in chunks."""
    import subprocess
    import sys

    out = tmp_path / "large.pt"
    subprocess.run([sys.executable, "-c", LARGE, str(out)], check=True, timeout=600)
    got = torch.load(out)
    assert got["grew_kb"] < 200 * 1024
    assert torch.isfinite(got["v"]).all() and torch.isfinite(got["lp"]).all()
    Z = data.preset("moons", 2000, seed=0).double()
    S = data.preset("circles", 2000, seed=1).double()
    path = paths.make("condot", sigma_min=0.05)
    x = torch.stack(
        torch.meshgrid(torch.linspace(-3, 3, 64), torch.linspace(-3, 3, 64), indexing="ij"), -1
    ).reshape(-1, 2)
    rows = [0, 2080, 4095]  # a corner, the middle, the far corner
    k = marginal._coeffs(path, torch.tensor([0.6], dtype=torch.float64), True)
    a, c, da, dc = (float(v[0]) for v in (k.a, k.c, k.da, k.dc))
    parts = [
        brute(x[rows].numpy(), a, c, da, dc, 0.05, Z[i : i + 100], S) for i in range(0, 2000, 100)
    ]
    lms = np.stack([p[0] for p in parts])
    lm = logsumexp(lms, axis=0)
    v = sum(np.exp(lms[k] - lm)[:, None] * parts[k][1] for k in range(len(parts)))
    lp = lm - math.log(4e6) - math.log(2 * math.pi * 0.05**2)
    np.testing.assert_allclose(got["lp"][rows].numpy(), lp, rtol=1e-4)
    near(got["v"][rows].numpy(), v, 1e-4)


@pytest.mark.parametrize("t", [0.2, 0.8])
def test_heat_density_is_exact_to_a_billionth_of_its_peak(clouds, t):
    """marginal.density (the heat layer) skips the shell sums far out: every row is within
    FLOOR of the peak of the true density, and the rows it sets to 0 are truly below it."""
    Z, S = clouds
    sig = 0.05
    path = paths.make("condot", sigma_min=sig)
    pts = np.concatenate([GRID, FAR, scattered(Z, S, t, 1 - t, sig, n=200)])
    p = marginal.density(x=torch.tensor(pts), t=t, data=Z, path=path, source=S).numpy()
    k = marginal._coeffs(path, torch.tensor([t], dtype=torch.float64), True)
    a, c = float(k.a[0]), float(k.c[0])
    lm, _ = brute(pts, a, c, 0.0, 0.0, sig, Z, S)
    ref = np.exp(lm - math.log(len(Z) * len(S)) - math.log(2 * math.pi * sig * sig))
    peak = ref.max()
    assert (p == 0).sum() > 50  # far rows were skipped...
    assert np.all(ref[p == 0] <= 2 * gridded.FLOOR * peak)  # ...and are truly negligible
    np.testing.assert_allclose(p, ref, rtol=1e-5, atol=2 * gridded.FLOOR * peak)


def test_lattice_cache_follows_the_points_not_the_tensors(clouds):
    """A fresh copy of the same points reuses the lattice; changed points (even in place)
    or another t get their own."""
    Z, S = clouds
    gridded.clear_cache()
    kw = dict(a=0.5, c=0.5, da=1.0, dc=-1.0, w=0.1)
    first = gridded.lattice_for(**kw, data=Z, source=S)
    assert gridded.lattice_for(**kw, data=Z.clone(), source=S.clone()) is first
    assert gridded.lattice_for(**{**kw, "a": 0.6}, data=Z, source=S) is not first
    moved = Z.clone()
    moved[0, 0] += 0.5
    assert gridded.lattice_for(**kw, data=moved, source=S) is not first
    moved[0, 0] -= 0.5
    assert gridded.lattice_for(**kw, data=moved, source=S) is first


@pytest.mark.parametrize("drawn", [True, False])
def test_field_where_dense_is_exact_where_the_mass_is_and_nan_elsewhere(clouds, drawn):
    """The rows kept match the full exact field; the rows masked hold less than FLOOR of
    the largest density (drawn source: of the lattice's peak)."""
    Z, S = clouds
    sig = 0.05 if drawn else 0.0
    path = paths.make("condot", sigma_min=sig)
    src = S if drawn else None
    x = torch.tensor(np.concatenate([GRID, FAR]))
    part = marginal.field_where_dense(x=x, t=0.6, data=Z, path=path, source=src)
    full = marginal.field(x=x, t=0.6, data=Z, path=path, source=src)
    kept = torch.isfinite(part.log_density)
    assert bool(kept.any()) and bool((~kept).any())
    assert bool(torch.isnan(part.velocity[~kept]).all())
    assert bool(torch.isfinite(part.velocity[kept]).all())
    np.testing.assert_allclose(part.log_density[kept], full.log_density[kept], atol=1e-5)
    np.testing.assert_allclose(part.velocity[kept], full.velocity[kept], atol=1e-5)
    peak = float(full.log_density.max())
    assert bool((full.log_density[~kept] <= peak + math.log(2 * gridded.FLOOR)).all())
