"""Gaussian paths against their closed forms and finite differences (float64)."""

import math

import numpy as np
import pytest
import torch
from core_reference import PATH_CASES, closed_forms, derivatives, schedule

from flowviz.core import paths

SIGMAS = [0.0, 0.05]
CASES = [(name, kw, s) for name, kw in PATH_CASES for s in SIGMAS]
IDS = [f"{name}{kw.get('n', '')}-s{s}" for name, kw, s in CASES]


def _make(name, kw, sigma_min):
    return paths.make(name, sigma_min=sigma_min, **kw)


@pytest.mark.parametrize(("name", "kw", "sigma_min"), CASES, ids=IDS)
def test_end_points(name, kw, sigma_min):
    s = _make(name, kw, sigma_min).schedule(torch.tensor([0.0, 1.0], dtype=torch.float64))
    np.testing.assert_allclose(s.alpha.numpy(), [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(s.beta.numpy(), [1.0, sigma_min], atol=1e-12)


@pytest.mark.parametrize(("name", "kw", "sigma_min"), CASES, ids=IDS)
def test_sample_is_alpha_z_plus_beta_eps(name, kw, sigma_min):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(64, 2, generator=g, dtype=torch.float64) * 2
    eps = torch.randn(64, 2, generator=g, dtype=torch.float64)
    t = torch.rand(64, generator=g, dtype=torch.float64)
    x_t = _make(name, kw, sigma_min).sample(z=z, t=t, eps=eps)
    alpha, beta = schedule(name, t.numpy(), sigma_min=sigma_min, n=kw.get("n", 2.0))
    expected = alpha[:, None] * z.numpy() + beta[:, None] * eps.numpy()
    np.testing.assert_allclose(x_t.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_closed_forms_spelled_out():
    """The reference schedules themselves, at a few hand-checked points."""
    t = np.array([0.25, 0.5])
    np.testing.assert_allclose(schedule("condot", t, sigma_min=0.1)[1], [1 - 0.9 * 0.25, 0.55])
    np.testing.assert_allclose(schedule("cosine", 0.5)[0], math.sqrt(0.5))
    np.testing.assert_allclose(schedule("polynomial", 0.5, n=3.0), (0.125, 0.875))
    a, b = schedule("vp", t)
    np.testing.assert_allclose(a * a + b * b, 1.0)


@pytest.mark.parametrize(("name", "kw", "sigma_min"), CASES, ids=IDS)
def test_schedule_values_and_derivatives_match_finite_differences(name, kw, sigma_min):
    path = _make(name, kw, sigma_min)
    t = torch.linspace(0.02, 0.98, 49, dtype=torch.float64)
    s = path.schedule(t)
    alpha, beta = schedule(name, t.numpy(), sigma_min=sigma_min, n=kw.get("n", 2.0))
    np.testing.assert_allclose(s.alpha.numpy(), alpha, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(s.beta.numpy(), beta, rtol=1e-12, atol=1e-14)
    h = 1e-5
    # Central differences of the closed forms: truncation error h^2 |f'''| / 6 ~ 1e-10 |f'''|
    # plus rounding ~1e-16 / h ~ 1e-11; VP's third derivative reaches ~1e3 near t = 1.
    a_p, b_p = schedule(name, t.numpy() + h, sigma_min=sigma_min, n=kw.get("n", 2.0))
    a_m, b_m = schedule(name, t.numpy() - h, sigma_min=sigma_min, n=kw.get("n", 2.0))
    np.testing.assert_allclose(s.d_alpha.numpy(), (a_p - a_m) / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s.d_beta.numpy(), (b_p - b_m) / (2 * h), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("name", "kw", "sigma_min"), CASES, ids=IDS)
def test_conditional_velocity_is_the_time_derivative_of_the_sample_path(name, kw, sigma_min):
    """u_t(x|z) at x = x_t equals d/dt (alpha_t z + beta_t eps) for that fixed eps."""
    path = _make(name, kw, sigma_min)
    g = torch.Generator().manual_seed(2)
    n = 200
    z = torch.randn(n, 2, generator=g, dtype=torch.float64) * 2
    eps = torch.randn(n, 2, generator=g, dtype=torch.float64)
    t = 0.02 + 0.96 * torch.rand(n, generator=g, dtype=torch.float64)
    h = 1e-5
    fd = (path.sample(z=z, t=t + h, eps=eps) - path.sample(z=z, t=t - h, eps=eps)) / (2 * h)
    u = path.conditional_velocity(x=path.sample(z=z, t=t, eps=eps), t=t, z=z)
    # Same error budget as above, times |z| + |eps| <~ 10.
    np.testing.assert_allclose(u.numpy(), fd.numpy(), rtol=1e-6, atol=1e-6)


def test_conditional_velocity_accepts_a_float_t_and_a_single_z():
    path = paths.make("cosine", sigma_min=0.05)
    x = torch.tensor([[0.3, -1.0], [2.0, 0.5]], dtype=torch.float64)
    z = torch.tensor([1.0, -0.5], dtype=torch.float64)
    a = path.conditional_velocity(x=x, t=0.3, z=z)
    b = path.conditional_velocity(
        x=x, t=torch.full((2,), 0.3, dtype=torch.float64), z=z.expand(2, 2)
    )
    torch.testing.assert_close(a, b)
    # d alpha z + (d beta / beta)(x - alpha z) by hand for the cosine path.
    al, be = math.sin(0.15 * math.pi), 0.05 + 0.95 * math.cos(0.15 * math.pi)
    da, db = (
        0.5 * math.pi * math.cos(0.15 * math.pi),
        -0.95 * 0.5 * math.pi * math.sin(0.15 * math.pi),
    )
    expected = da * z.numpy() + (db / be) * (x.numpy() - al * z.numpy())
    np.testing.assert_allclose(a.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize(("name", "kw", "sigma_min"), CASES, ids=IDS)
def test_conditional_velocity_is_finite_at_the_ends(name, kw, sigma_min):
    path = _make(name, kw, sigma_min)
    x = torch.tensor([[1.0, 2.0], [-3.0, 0.5]])
    z = torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    for t in (0.0, 1.0):
        assert torch.isfinite(path.conditional_velocity(x=x, t=t, z=z)).all()


@pytest.mark.parametrize(("name", "kw", "sigma_min"), CASES, ids=IDS)
def test_formulas_and_description_are_text(name, kw, sigma_min):
    path = _make(name, kw, sigma_min)
    f = path.formulas()
    for text in (f.alpha, f.beta, f.alpha_latex, f.beta_latex, path.describe()):
        assert isinstance(text, str) and text.strip()
    assert path.label in path.describe()


def test_polynomial_formula_names_its_exponent():
    assert "3" in paths.make("polynomial", n=3.0).formulas().alpha


@pytest.mark.parametrize("name", ["straight", "", "ot"])
def test_unknown_path_name_raises(name):
    with pytest.raises(ValueError, match="unknown path"):
        paths.make(name)


@pytest.mark.parametrize("sigma_min", [-0.1, 1.0, 2.0, float("nan")])
def test_bad_sigma_min_raises(sigma_min):
    with pytest.raises(ValueError, match="sigma_min"):
        paths.make("condot", sigma_min=sigma_min)


@pytest.mark.parametrize("n", [0.0, -1.0])
def test_bad_polynomial_exponent_raises(n):
    with pytest.raises(ValueError, match="exponent"):
        paths.make("polynomial", n=n)


def test_names_are_case_and_dash_insensitive():
    assert isinstance(paths.make("Cond-OT"), paths.CondOT)
    assert isinstance(paths.make("POLYNOMIAL", n=3.0), paths.Polynomial)


# ------------------------------------------------------------ float32 near both ends


# Times a float32 holds exactly (the input itself does not round), 1e-4 from either end.
T32 = np.float32([1e-4, 1e-3, 0.01, 0.5, 0.99, 0.999, paths.T_MAX]).astype(np.float64)
FLOAT32_CASES = [*PATH_CASES, ("polynomial", {"n": 0.5}), ("polynomial", {"n": 1.0})]


@pytest.mark.parametrize("sigma_min", SIGMAS)
@pytest.mark.parametrize(("name", "kw"), FLOAT32_CASES)
def test_float32_schedule_matches_float64_closed_forms_near_both_ends(name, kw, sigma_min):
    """Every value to 1e-5 relative (float32 rounds at 6e-8 per operation): no difference
    of nearly equal numbers (VP's 1 - alpha^2, 1 - t^n, cos near pi / 2) loses digits."""
    s = _make(name, kw, sigma_min).schedule(torch.tensor(T32, dtype=torch.float32))
    alpha, b, d_alpha, d_b = closed_forms(name, T32, n=kw.get("n", 2.0))
    beta = sigma_min + (1 - sigma_min) * b
    got = (s.alpha, s.beta, s.d_alpha, s.d_beta)
    wanted = (alpha, beta, d_alpha, (1 - sigma_min) * d_b)
    for key, value, want in zip(["α", "β", "α′", "β′"], got, wanted, strict=True):
        np.testing.assert_allclose(value.numpy(), want, rtol=1e-5, atol=1e-30, err_msg=key)


def test_closed_forms_match_finite_differences():
    """The test's own closed-form derivatives against the five-point differences of
    core_reference's schedules (a check of the oracle above)."""
    for name, kw in FLOAT32_CASES:
        n = kw.get("n", 2.0)
        for t in (0.05, 0.5, 0.99, 0.9999):
            _, _, da, db = closed_forms(name, t, n=n)
            fd = derivatives(name, t, n=n)
            np.testing.assert_allclose((da, db), fd, rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("sigma_min", SIGMAS)
def test_vp_beta_in_float32_at_t_max_is_within_1e4_of_float64(sigma_min):
    t = paths.T_MAX
    path = paths.make("vp", sigma_min=sigma_min)
    b32 = float(path.field_schedule(torch.tensor([t], dtype=torch.float32)).beta[0])
    b64 = float(path.field_schedule(torch.tensor([t], dtype=torch.float64)).beta[0])
    _, b, _, _ = closed_forms("vp", float(np.float32(t)))
    assert b32 == pytest.approx(sigma_min + (1 - sigma_min) * b, rel=1e-4)
    assert b64 == pytest.approx(sigma_min + (1 - sigma_min) * closed_forms("vp", t)[1], rel=1e-9)


def test_vp_field_and_log_density_in_float32_near_t_max_match_float64():
    """The marginal field and log p_t of a few points in float32 at T_MAX against the
    float64 mixture: within 1e-4 relative (a 0.4 % error in beta gave 1.8 % and 2.5 %)."""
    from scipy.special import logsumexp, softmax

    from flowviz.core import marginal

    z = np.array([[0.0, 0.0], [0.02, 0.0], [-1.0, 0.5]])
    t = float(np.float32(paths.T_MAX))
    alpha, b, d_alpha, d_b = closed_forms("vp", t)
    x = z[:2].mean(0) + np.array([[0.0, 0.0], [0.004, 0.003], [-0.006, 0.002]])
    d2 = ((x[:, None] - alpha * z[None]) ** 2).sum(-1)
    log_k = -d2 / (2 * b * b) - math.log(2 * math.pi * b * b)
    w = softmax(log_k, 1)
    u = d_alpha * z[None] + (d_b / b) * (x[:, None] - alpha * z[None])
    u_ref, lp_ref = (w[..., None] * u).sum(1), logsumexp(log_k, 1) - math.log(len(z))
    f = marginal.field(
        x=torch.tensor(x, dtype=torch.float32),
        t=t,
        data=torch.tensor(z, dtype=torch.float32),
        path=paths.make("vp"),
    )
    scale = np.abs(u_ref).max()
    np.testing.assert_allclose(f.velocity.numpy() / scale, u_ref / scale, atol=1e-4)
    np.testing.assert_allclose(f.log_density.numpy(), lp_ref, rtol=1e-4)


def test_vp_beta_derivative_is_minus_infinity_at_t_1():
    """The true limit (d b / dt ~ -sqrt(b0 / (4 (1 - t))) -> -inf), not a floored number;
    the field never sees it (field_schedule stops at T_MAX)."""
    path = paths.make("vp")
    assert float(path.schedule(1.0).d_beta) == -math.inf
    assert float(path.schedule(1.0).beta) == 0.0
    assert math.isfinite(float(path.field_schedule(1.0).d_beta))
