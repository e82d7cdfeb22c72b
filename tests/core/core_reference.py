"""Independent float64 numpy re-derivations used as test oracles.

Written from the formulas in the issue and the teaching notes, not from flowviz.core: the
closed-form schedules, the Gaussian-mixture density of the marginal path and Monte Carlo
estimators of the marginal field E[u_t(x_t | z) | x_t = x].
"""

from __future__ import annotations

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
