"""Independent float64 numpy re-derivations used as test oracles.

Written from the formulas in the issue and the teaching notes, not from flowviz.core: the
closed-form schedules, the Gaussian-mixture density of the marginal path and Monte Carlo
estimators of the marginal field E[u_t(x_t | z) | x_t = x].
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import logsumexp

# (name, keyword arguments for paths.make): every path family the core offers.
PATH_CASES = [
    ("condot", {}),
    ("cosine", {}),
    ("vp", {}),
    ("polynomial", {"n": 2.0}),
    ("polynomial", {"n": 3.0}),
]


def schedule(name: str, t, *, sigma_min: float = 0.0, n: float = 2.0):
    """(alpha_t, beta_t) in float64 from the closed forms of the issue."""
    t = np.asarray(t, dtype=np.float64)
    if name == "condot":
        alpha, base = t, 1.0 - t
    elif name == "cosine":
        alpha, base = np.sin(0.5 * math.pi * t), np.cos(0.5 * math.pi * t)
    elif name == "polynomial":
        alpha, base = t**n, 1.0 - t**n
    elif name == "vp":
        # Lipman et al. (2023) eq. 19 with beta_min = 0.1, beta_max = 20, rescaled so that
        # alpha_0 = 0 exactly; the noise part keeps alpha^2 + b^2 = 1.
        b0, b1 = 0.1, 20.0

        def a(s):
            return np.exp(-0.5 * (b0 * s + 0.5 * (b1 - b0) * s * s))

        a0 = a(1.0)
        alpha = (a(1.0 - t) - a0) / (1.0 - a0)
        base = np.sqrt(np.maximum(1.0 - alpha * alpha, 0.0))
    else:
        raise KeyError(name)
    return alpha, sigma_min + (1.0 - sigma_min) * base


def derivatives(name: str, t, *, sigma_min: float = 0.0, n: float = 2.0):
    """(d alpha / dt, d beta / dt) by the five-point central difference of the closed forms
    (their smooth extensions just outside [0, 1]), truncation error ~ (h / d)^4 relative at
    distance d from the t = 1 singularity of VP's beta, rounding ~1e-16 / h: h = 1e-4, or
    (1 - t) / 1000 close to t = 1."""
    t = float(t)
    h = min(1e-4, (1.0 - t) * 1e-3)

    def f(s):
        return np.stack(schedule(name, t + s, sigma_min=sigma_min, n=n))

    d = (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h)
    return d[0], d[1]


def component_log_pdf(x, means, std):
    """log N(x; mean_j, std^2 I) in 2D: x (m, 2), means (m, P, 2) or (P, 2), std (m,) or
    scalar -> (m, P)."""
    x = np.asarray(x, np.float64)
    std = np.broadcast_to(np.asarray(std, np.float64), (x.shape[0],))
    d2 = ((x[:, None, :] - means) ** 2).sum(-1)
    return -d2 / (2 * std[:, None] ** 2) - np.log(2 * math.pi * std[:, None] ** 2)


def mixture_log_density(x, data, alpha, beta):
    """log p_t(x) of (1/N) sum_i N(alpha z_i, beta^2 I): x (m, 2) -> (m,)."""
    z = np.asarray(data, np.float64)
    alpha = np.broadcast_to(np.asarray(alpha, np.float64), (len(x),))
    lp = component_log_pdf(x, alpha[:, None, None] * z[None], beta)
    return logsumexp(lp, axis=1) - math.log(len(z))


def snis_velocity(x, t, data, name, *, draws, rng, sigma_min=0.0, n=2.0):
    """Self-normalised importance-sampling estimate of E[u_t(x_t|z) | x_t = x] at one
    point x (2,): z drawn from p_data (proposal), weights p_t(x|z) from the Gaussian
    likelihood, u_t(x|z) = d alpha z + d beta eps with eps = (x - alpha z) / beta, the
    time derivative of the straight sample path x_t = alpha_t z + beta_t eps; d alpha and
    d beta by finite differences of the closed forms. Returns (estimate (2,), standard
    error (2,)), the delta-method standard error of a ratio estimator."""
    z = np.asarray(data, np.float64)[rng.integers(0, len(data), draws)]
    alpha, beta = schedule(name, t, sigma_min=sigma_min, n=n)
    da, db = derivatives(name, t, sigma_min=sigma_min, n=n)
    x = np.asarray(x, np.float64)
    eps = (x[None] - alpha * z) / beta
    u = da * z + db * eps
    logw = -(eps**2).sum(1) / 2
    w = np.exp(logw - logw.max())
    w /= w.sum()
    est = (w[:, None] * u).sum(0)
    se = np.sqrt((w[:, None] ** 2 * (u - est) ** 2).sum(0))
    return est, se


def closed_forms(name: str, t, *, n: float = 2.0):
    """(alpha, b, d alpha, d b) in float64 from the formulas: the base schedule b_t
    (beta_t = sigma_min + (1 - sigma_min) b_t) and both exact derivatives."""
    t = np.asarray(t, np.float64)
    h = 0.5 * math.pi
    if name == "condot":
        one = np.ones_like(t)
        return t, 1.0 - t, one, -one
    if name == "cosine":
        return np.sin(h * t), np.cos(h * t), h * np.cos(h * t), -h * np.sin(h * t)
    if name == "polynomial":
        return t**n, 1.0 - t**n, n * t ** (n - 1), -n * t ** (n - 1)
    if name != "vp":
        raise KeyError(name)
    b0, b1 = 0.1, 20.0
    s = 1.0 - t
    a = np.exp(-0.5 * (b0 * s + 0.5 * (b1 - b0) * s * s))
    a0 = math.exp(-0.5 * (b0 + 0.5 * (b1 - b0)))
    alpha = (a - a0) / (1.0 - a0)
    d_alpha = 0.5 * (b0 + (b1 - b0) * s) * a / (1.0 - a0)
    b = np.sqrt(np.maximum(1.0 - alpha * alpha, 0.0))  # float64: 1e-16 / 1e-5 at T_MAX
    return alpha, b, d_alpha, -alpha * d_alpha / b


def marginal_flow_end(x0, data, name, *, sigma_min=0.0, n=2.0, source=None, dv=0.05):
    """Where particles x0 (m, 2) started at t = 0 end at t = 1 under the exact marginal
    field, in float64, with no clamp near either end: RK4 on a grid even in
    v = log(t / (1 - t)) (steps relative to t near 0 and to 1 - t near 1, where alpha'_t or
    beta'_t / beta_t diverge), from t0 where alpha_t0 < 1e-9 to 1 - 1e-7, then the rest
    of the way by the posterior means (x_1 = z^ + beta_1 e^, or
    z^ + sigma_min e^ with a drawn source), which the posterior no longer moves."""
    z = np.asarray(data, np.float64)
    src = None if source is None else np.asarray(source, np.float64)

    def parts(t):
        alpha, b, da, db = closed_forms(name, t, n=n)
        if src is None:
            return alpha, sigma_min + (1 - sigma_min) * b, da, (1 - sigma_min) * db
        return alpha, b, da, db

    def means(x, t):
        """(E[z | x], E[s | x] or None) at t."""
        alpha, c, _, _ = parts(t)
        if src is None:
            mu, width = alpha * z, c
        else:
            mu, width = (alpha * z[:, None] + c * src[None]).reshape(-1, 2), sigma_min
        d2 = ((x[:, None] - mu[None]) ** 2).sum(-1)
        w = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * width * width))
        w /= w.sum(1, keepdims=True)
        if src is None:
            return w @ z, None
        w = w.reshape(len(x), len(z), len(src))
        return w.sum(2) @ z, w.sum(1) @ src

    def velocity(x, t):
        alpha, c, da, dc = parts(t)
        z_hat, s_hat = means(x, t)
        if src is None:
            return da * z_hat + (dc / c) * (x - alpha * z_hat)
        return da * z_hat + dc * s_hat

    # Starting at t0 instead of 0 moves nothing by more than alpha_t0 |z^ - x| < 1e-8.
    t0 = 1e-9 ** (1 / min(n, 1.0)) if name == "polynomial" else 1e-9
    x = np.asarray(x0, np.float64)
    v0, v1 = math.log(t0 / (1 - t0)), math.log((1 - 1e-7) / 1e-7)
    ts = 1 / (1 + np.exp(-np.linspace(v0, v1, int((v1 - v0) / dv) + 1)))
    for ta, tb in itertools.pairwise(ts):
        h = tb - ta
        k1 = velocity(x, ta)
        k2 = velocity(x + 0.5 * h * k1, ta + 0.5 * h)
        k3 = velocity(x + 0.5 * h * k2, ta + 0.5 * h)
        k4 = velocity(x + h * k3, tb)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    t = ts[-1]
    alpha, c, _, _ = parts(t)
    z_hat, s_hat = means(x, t)
    if src is None:
        return z_hat + sigma_min * (x - alpha * z_hat) / c
    return x + (1 - alpha) * z_hat - c * s_hat
