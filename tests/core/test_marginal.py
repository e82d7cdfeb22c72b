"""The exact marginal path: Monte Carlo, float64 numpy oracles, normalisation, chunks and
the t -> 1 edge."""

import math

import numpy as np
import pytest
import torch
from core_reference import (
    component_log_pdf,
    derivatives,
    mixture_log_density,
    schedule,
    snis_velocity,
)
from scipy.special import softmax

from flowviz.core import data, marginal, paths


@pytest.fixture(scope="module")
def Z():
    """A small, spread-out data set (float32, as the app holds it)."""
    return data.preset("moons", 12, seed=3)


def reference_field(x, t, Z, name, *, sigma_min=0.0, n=2.0):
    """(posterior (m, N), velocity (m, 2)) in float64: softmax of Gaussian log-likelihoods,
    then the posterior average of u_t(x|z) = d alpha z + (d beta / beta)(x - alpha z)."""
    x = np.asarray(x, np.float64)
    z = np.asarray(Z, np.float64)
    a, b = schedule(name, t, sigma_min=sigma_min, n=n)
    da, db = derivatives(name, t, sigma_min=sigma_min, n=n)
    w = softmax(component_log_pdf(x, a * z, b), axis=1)
    u = da * z[None] + (db / b) * (x[:, None, :] - a * z[None])
    return w, (w[:, :, None] * u).sum(1)


# ----------------------------------------------------------------------- Monte Carlo


@pytest.mark.parametrize("name", ["condot", "cosine", "vp"])
@pytest.mark.parametrize("t", [0.05, 0.5, 0.95])
def test_velocity_matches_importance_sampling_estimate(Z, name, t):
    rng = np.random.default_rng(11)
    x = np.array([[0.4, 0.1], [-1.2, 0.6], [1.5, -0.8], [0.0, 2.5]])
    got = marginal.velocity(
        x=torch.tensor(x, dtype=torch.float64), t=t, data=Z.double(), path=paths.make(name)
    ).numpy()
    for row, xr in enumerate(x):
        est, se = snis_velocity(xr, t, Z.numpy(), name, draws=200_000, rng=rng)
        # 5 standard errors of the ratio estimator, plus 1e-6 for the d alpha / d beta
        # finite differences and for rows where the posterior is nearly one point (se ~ 0).
        np.testing.assert_array_less(np.abs(got[row] - est), 5 * se + 1e-6)


def test_velocity_matches_the_conditional_mean_of_joint_samples(Z):
    """Sample (z, eps) jointly, keep the x_t that fall in a small disc around x and average
    their d/dt x_t = z - eps (CondOT): E[u_t(x_t|z) | x_t ~ x] without any likelihood."""
    t, r = 0.5, 0.04
    rng = np.random.default_rng(5)
    z = Z.numpy().astype(np.float64)[rng.integers(0, len(Z), 3_000_000)]
    eps = rng.standard_normal(z.shape)
    x_t = t * z + (1 - t) * eps
    u = z - eps
    probes = np.array([[0.0, 0.0], [0.5, 0.3], [-0.6, 0.2]])
    got = marginal.velocity(
        x=torch.tensor(probes), t=t, data=Z.double(), path=paths.make("condot")
    ).numpy()
    for row, p in enumerate(probes):
        near = ((x_t - p) ** 2).sum(1) < r * r
        assert near.sum() > 1000
        est = u[near].mean(0)
        se = u[near].std(0) / math.sqrt(near.sum())
        # 5 standard errors, plus the disc's smoothing bias: the field varies on the scale
        # of beta_t = 0.5, so over r = 0.04 the bias is ~ (r / beta)^2 |u| < 0.02.
        np.testing.assert_array_less(np.abs(got[row] - est), 5 * se + 0.02)


@pytest.mark.parametrize("t", [0.05, 0.5, 0.95])
def test_empirical_source_velocity_matches_monte_carlo(t):
    """Drawn source s_j, sigma_min = 0.1: x_t = t z + (1 - t) s + sigma eps (CondOT), and
    d/dt x_t = z - s. Importance sampling over uniformly drawn pairs (z_i, s_j)."""
    sig = 0.1
    Zs = data.preset("eight-gaussians", 6, seed=1).double()
    S = data.preset("circles", 5, seed=2).double()
    rng = np.random.default_rng(7)
    x = np.array([[0.3, 0.2], [-1.0, 1.4], [1.8, 0.1]])
    got = marginal.velocity(
        x=torch.tensor(x), t=t, data=Zs, path=paths.make("condot", sigma_min=sig), source=S
    ).numpy()
    draws = 200_000
    zi = Zs.numpy()[rng.integers(0, len(Zs), draws)]
    sj = S.numpy()[rng.integers(0, len(S), draws)]
    mean = t * zi + (1 - t) * sj
    u = zi - sj
    for row, xr in enumerate(x):
        logw = -((xr - mean) ** 2).sum(1) / (2 * sig * sig)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        est = (w[:, None] * u).sum(0)
        se = np.sqrt((w[:, None] ** 2 * (u - est) ** 2).sum(0))
        np.testing.assert_array_less(np.abs(got[row] - est), 5 * se + 1e-9)


# ---------------------------------------------------------------- float64 oracles


@pytest.mark.parametrize(
    ("name", "kw"), [("condot", {}), ("cosine", {}), ("vp", {}), ("polynomial", {"n": 3.0})]
)
@pytest.mark.parametrize("sigma_min", [0.0, 0.05])
@pytest.mark.parametrize("t", [0.0, 0.05, 0.5, 0.95, 0.999])
def test_posterior_and_velocity_match_numpy_float64(Z, name, kw, sigma_min, t):
    path = paths.make(name, sigma_min=sigma_min, **kw)
    x = torch.tensor([[0.4, 0.1], [-1.2, 0.6], [1.5, -0.8], [3.0, 3.0]], dtype=torch.float64)
    w_ref, u_ref = reference_field(x, t, Z, name, sigma_min=sigma_min, n=kw.get("n", 2.0))
    w = marginal.posterior(x=x, t=t, data=Z.double(), path=path).numpy()
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(w, w_ref, atol=1e-9)
    u = marginal.velocity(x=x, t=t, data=Z.double(), path=path).numpy()
    # The reference's d beta comes from finite differences: relative error < 1e-9 (VP near
    # t = 1, where d beta is singular, included).
    np.testing.assert_allclose(u, u_ref, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("t", [0.0, 0.3, 0.9, 0.99, 0.999])
def test_float32_results_stay_close_to_float64(Z, t):
    """The fast float32 path (expanded squares, one GEMM) against the float64 oracle, on
    a grid that includes rows far from every data point (all components underflow); from
    t = 0.99 on, most rows go through the float64 rescue. (Closer to 1, t itself rounds in
    float32 by ~eps / (1 - t) relative to 1 / beta_t: 6e-4 at t = 0.9999.)"""
    g = np.linspace(-5, 5, 41)
    x = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    x = np.concatenate([x, [[40.0, 40.0], [-60.0, 10.0]]])
    path = paths.make("condot")
    w_ref, u_ref = reference_field(x, t, Z, "condot")
    a, b = schedule("condot", t)
    lp_ref = mixture_log_density(x, Z.numpy(), a, b)
    f = marginal.field(x=torch.tensor(x, dtype=torch.float32), t=t, data=Z, path=path)
    u, lp = f.velocity.numpy(), f.log_density.numpy()
    assert np.isfinite(u).all() and np.isfinite(lp).all()
    scale = np.abs(u_ref).max(1, keepdims=True) + 1
    # float32 has eps ~1.2e-7; the exponents reach ~|x|^2 / (2 beta^2) ~ 1e5 in the far
    # rows, so a relative 1e-4 is what the stable (difference) path must deliver.
    np.testing.assert_allclose(u / scale, u_ref / scale, atol=1e-4)
    np.testing.assert_allclose(lp, lp_ref, rtol=1e-4, atol=1e-3)
    w = marginal.posterior(x=torch.tensor(x, dtype=torch.float32), t=t, data=Z, path=path)
    np.testing.assert_allclose(w.numpy(), w_ref, atol=1e-4)


def test_posterior_with_a_drawn_source_sums_over_source_points():
    sig = 0.2
    Zs = torch.tensor([[1.0, 0.0], [-1.0, 0.5], [0.0, 2.0]], dtype=torch.float64)
    S = torch.tensor([[0.0, 0.0], [0.5, -0.5]], dtype=torch.float64)
    x = torch.tensor([[0.2, 0.1], [0.8, 1.2]], dtype=torch.float64)
    t = 0.6
    w = marginal.posterior(
        x=x, t=t, data=Zs, path=paths.make("condot", sigma_min=sig), source=S
    ).numpy()
    assert w.shape == (2, 3)
    means = (t * Zs.numpy()[:, None, :] + (1 - t) * S.numpy()[None, :, :]).reshape(-1, 2)
    pair = softmax(component_log_pdf(x.numpy(), means, sig), axis=1).reshape(2, 3, 2)
    np.testing.assert_allclose(w, pair.sum(-1), atol=1e-12)


def test_drawn_source_needs_positive_sigma_min(Z):
    with pytest.raises(ValueError, match="sigma_min"):
        marginal.velocity(
            x=torch.zeros(1, 2), t=0.5, data=Z, path=paths.make("condot"), source=Z[:3]
        )


@pytest.mark.parametrize(
    ("x", "data_"),
    [(torch.zeros(3), torch.zeros(4, 2)), (torch.zeros(3, 2), torch.zeros(0, 2))],
)
def test_bad_shapes_raise(x, data_):
    with pytest.raises(ValueError, match="shape"):
        marginal.velocity(x=x, t=0.5, data=data_, path=paths.make("condot"))


# -------------------------------------------------------------------- normalisation


def _grid(lim, h):
    g = np.arange(-lim, lim + h / 2, h)
    return g, np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)


@pytest.mark.parametrize(
    ("name", "sigma_min", "t", "lim", "h"),
    [
        ("condot", 0.0, 0.02, 7.0, 0.02),  # ~ N(0, 0.98^2): 7 std of margin
        ("cosine", 0.0, 0.5, 6.0, 0.02),
        ("vp", 0.0, 0.5, 6.0, 0.02),
        ("condot", 0.05, 0.999, 3.6, 0.01),  # peaks of width 0.051, 5 points per std
        ("condot", 0.05, 1.0, 3.6, 0.01),  # evaluated at T_MAX: width 0.050005
        ("polynomial", 0.0, 0.9, 4.0, 0.01),  # width 0.19
    ],
)
def test_log_density_integrates_to_one(Z, name, sigma_min, t, lim, h):
    """Trapezoid rule on a grid whose window holds all mass (data within +-3 plus >= 6
    widths) and whose spacing is <= 1/5 of the narrowest width: for Gaussians the
    trapezoid rule is then accurate far beyond the float32 rounding of the density."""
    g, x = _grid(lim, h)
    lp = marginal.log_density(
        x=torch.tensor(x, dtype=torch.float32),
        t=t,
        data=Z,
        path=paths.make(name, sigma_min=sigma_min),
    )
    p = np.exp(lp.double().numpy()).reshape(len(g), len(g))
    mass = np.trapezoid(np.trapezoid(p, g, axis=1), g)
    assert mass == pytest.approx(1.0, abs=1e-4)


def test_log_density_integrates_to_one_with_a_drawn_source():
    Zs = data.preset("eight-gaussians", 8, seed=0)
    S = data.preset("circles", 6, seed=0)
    g, x = _grid(3.8, 0.02)
    lp = marginal.log_density(
        x=torch.tensor(x, dtype=torch.float32),
        t=0.7,
        data=Zs,
        path=paths.make("condot", sigma_min=0.1),
        source=S,
    )
    p = np.exp(lp.double().numpy()).reshape(len(g), len(g))
    assert np.trapezoid(np.trapezoid(p, g, axis=1), g) == pytest.approx(1.0, abs=1e-4)


# ------------------------------------------------------------ t handling and chunks


def test_float_t_and_per_row_t_agree(Z):
    path = paths.make("cosine", sigma_min=0.05)
    x = data.preset("circles", 300, seed=4)
    for t in (0.0, 0.37, 0.999, 1.0):
        a = marginal.field(x=x, t=t, data=Z, path=path)
        b = marginal.field(x=x, t=torch.full((300,), t), data=Z, path=path)
        torch.testing.assert_close(a.velocity, b.velocity, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(a.log_density, b.log_density, rtol=1e-6, atol=1e-6)


def test_per_row_t_mixes_times(Z):
    """Each row uses its own t: the same as evaluating row by row with a float t."""
    path = paths.make("condot")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 2, generator=g)
    t = torch.rand(50, generator=g)
    t[:3] = torch.tensor([0.0, 1.0, 1.0 - 1e-6])
    u = marginal.velocity(x=x, t=t, data=Z, path=path)
    for i in range(50):
        one = marginal.velocity(x=x[i : i + 1], t=float(t[i]), data=Z, path=path)
        torch.testing.assert_close(u[i : i + 1], one, rtol=1e-5, atol=1e-5)


def test_chunked_evaluation_equals_small_batches(monkeypatch):
    """A 256 x 256 grid with N = 300 spans many chunks; small independent batches of 97
    rows, and a tiny CHUNK_ELEMENTS, give the same numbers."""
    Zb = data.preset("spirals", 300, seed=0)
    path = paths.make("vp", sigma_min=0.01)
    _, x = _grid(3.6, 7.2 / 255)
    x = torch.tensor(x, dtype=torch.float32)
    assert x.shape[0] * Zb.shape[0] * 2 > 10 * marginal.CHUNK_ELEMENTS
    whole = marginal.field(x=x, t=0.8, data=Zb, path=path)
    parts = [
        marginal.field(x=x[i : i + 97], t=0.8, data=Zb, path=path) for i in range(0, len(x), 97)
    ]
    # GEMM blocking may differ between shapes: agreement to float32 rounding.
    torch.testing.assert_close(
        whole.velocity, torch.cat([p.velocity for p in parts]), rtol=1e-5, atol=1e-5
    )
    torch.testing.assert_close(
        whole.log_density, torch.cat([p.log_density for p in parts]), rtol=1e-5, atol=1e-5
    )
    monkeypatch.setattr(marginal, "CHUNK_ELEMENTS", 37)
    few = x[::97]
    tiny = marginal.field(x=few, t=0.8, data=Zb, path=path)
    torch.testing.assert_close(tiny.velocity, whole.velocity[::97], rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------- the t -> 1 edge


def test_near_t_one_the_field_is_the_nearest_point_field(Z):
    """With sigma_min = 0, beta_t -> 0 and u_t(x|z) is singular at t = 1. The code takes
    the one-sided limit by evaluating velocities at T_MAX = 1 - 1e-4 for any t > T_MAX
    (paths.T_MAX). There the posterior has collapsed onto the nearest data point z*, so
    for CondOT u(x) = d alpha z* + (d beta / beta)(x - alpha z*) = (z* - x) / beta_T,
    beta_T = 1 - T_MAX: finite, pointing at the nearest point."""
    path = paths.make("condot")
    x = torch.tensor([[0.4, 0.1], [-1.2, 0.6], [1.5, -0.8], [0.0, 2.5]])
    d2 = ((x[:, None, :].double() - Z[None].double()) ** 2).sum(-1)
    nearest = Z.double()[d2.argmin(1)]
    beta_t = float(1 - torch.tensor(paths.T_MAX, dtype=torch.float32))  # as float32 rounds it
    expected = (nearest - x.double()) / beta_t
    at_tmax = marginal.velocity(x=x, t=paths.T_MAX, data=Z, path=path)
    for t in (1.0, 1.0 - 1e-6, torch.ones(4)):
        u = marginal.velocity(x=x, t=t, data=Z, path=path)
        assert torch.isfinite(u).all()
        torch.testing.assert_close(u, at_tmax)
        # float32: (x - alpha z) carries ~1e-7 absolute error, times 1 / beta_T = 1e4.
        torch.testing.assert_close(u.double(), expected, rtol=1e-5, atol=5e-3)
        w = marginal.posterior(x=x, t=t, data=Z, path=path)
        torch.testing.assert_close(w.argmax(1), d2.argmin(1))
        assert (w.max(1).values > 1 - 1e-6).all()
        assert torch.isfinite(marginal.log_density(x=x, t=t, data=Z, path=path)).all()


@pytest.mark.parametrize("name", ["cosine", "vp", "polynomial"])
def test_near_t_one_every_path_tends_to_its_nearest_point_conditional_field(Z, name):
    path = paths.make(name)
    x = torch.tensor([[0.4, 0.1], [-1.2, 0.6], [1.5, -0.8]])
    nearest = Z[((x[:, None, :] - Z[None]) ** 2).sum(-1).argmin(1)]
    u = marginal.velocity(x=x, t=1.0, data=Z, path=path)
    assert torch.isfinite(u).all()
    expected = path.conditional_velocity(x=x, t=1.0, z=nearest)
    torch.testing.assert_close(u, expected, rtol=1e-5, atol=1e-3)


def test_at_a_data_point_near_t_one_the_field_is_small(Z):
    """At x = z_i the nearest-point field vanishes: no blow-up at the data itself."""
    u = marginal.velocity(x=Z.clone(), t=1.0, data=Z, path=paths.make("condot"))
    assert u.abs().max() < 1e-2
