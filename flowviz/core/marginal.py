"""The exact marginal path of an empirical data set: a Gaussian mixture.

With data z_1..z_N and a standard Gaussian source, p_t(x) = (1/N) sum_i N(x; alpha_t z_i,
beta_t^2 I), the posterior p(z_i | x, t) is a softmax of those log-densities, and the marginal
field u_t(x) = sum_i p(z_i | x, t) u_t(x | z_i). Because u_t(x|z) is affine in z, this equals
the conditional field at the posterior mean E[z | x, t] -- one matrix product per chunk.

With a drawn (empirical) source s_1..s_M and sigma_min > 0, each pair (z_i, s_j) is a
component: x_t = alpha_t z_i + b_t s_j + sigma_min eps, so the mixture has N M components
of width sigma_min and the pair-conditional field is d_alpha z_i + d_b s_j. Those are never
all evaluated (or built): core.neighbours keeps only the pairs near each query row, with a
stated bound on what it drops.

Rows are done in chunks of at most CHUNK_ELEMENTS exponents (cache-sized, so memory stays
bounded for any grid and data size). The fast form expands |x - mean|^2 into matrix
products; near t = 1 (tiny width) that rounds badly in float32, and far from all data every
component underflows. Such rows take the same products in float64 with a max-shifted
softmax (accurate down to the T_MAX width), and any row still out of reach is done with
direct differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from flowviz.core import neighbours
from flowviz.core.paths import GaussianPath, _rows

CHUNK_ELEMENTS = 1 << 19
MIN_LOG_MASS = -46.0
#: Exponents are clamped here before exp: below it float32 exp leaves the normal range and
#: runs many times slower, and such terms weigh < 1e-16 of the mass that MIN_LOG_MASS keeps.
EXP_FLOOR = -87.0


@dataclass(frozen=True)
class MarginalField:
    """Marginal field and log-density at m points: velocity (m, 2), log_density (m,)."""

    velocity: torch.Tensor
    log_density: torch.Tensor


@dataclass(frozen=True)
class _Coeffs:
    """Per-row mixture coefficients: mean = a z + c s, std w; rates da, dc, dw. Each (r,)."""

    a: torch.Tensor
    c: torch.Tensor
    w: torch.Tensor
    da: torch.Tensor
    dc: torch.Tensor
    dw: torch.Tensor


def _coeffs(path: GaussianPath, t: torch.Tensor, empirical_source: bool) -> _Coeffs:
    s = path.field_schedule(t)
    if not empirical_source:
        zero = torch.zeros_like(s.alpha)
        return _Coeffs(s.alpha, zero, s.beta, s.d_alpha, zero, s.d_beta)
    sig = path.sigma_min
    if sig <= 0:
        raise ValueError("a drawn source distribution needs sigma_min > 0")
    b = (s.beta - sig) / (1.0 - sig)
    db = s.d_beta / (1.0 - sig)
    return _Coeffs(s.alpha, b, torch.full_like(b, sig), s.d_alpha, db, torch.zeros_like(b))


def _check(x: torch.Tensor, data: torch.Tensor, source: torch.Tensor | None) -> None:
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (m, 2), got {tuple(x.shape)}")
    if data.ndim != 2 or data.shape[1] != 2 or data.shape[0] == 0:
        raise ValueError(f"data must have shape (N, 2) with N >= 1, got {tuple(data.shape)}")
    if source is not None and (source.ndim != 2 or source.shape[1] != 2 or not len(source)):
        raise ValueError(f"source must have shape (M, 2) with M >= 1, got {tuple(source.shape)}")


def _chunks(m: int, p: int):
    step = max(1, CHUNK_ELEMENTS // max(p, 1))
    for lo in range(0, m, step):
        yield slice(lo, min(m, lo + step))


class _Mixture:
    """The data points of one evaluation (Gaussian source), with the augmented matrices of
    the fast path.

    -|x - a z|^2 / (2 w^2) is one matrix product of a per-row vector
    [a x, -|x|^2/2, -a^2/2] / w^2 with a per-component one [z, 1, |z|^2], and exp of it
    times [z, 1] gives the posterior mean and mass in a second product: two GEMMs and one
    exp, no (m, N, 2) temporaries.
    """

    def __init__(self, data, dtype, device):
        zp = data.to(device=device, dtype=dtype)
        self.zp = zp
        ones = torch.ones_like(zp[:, :1])
        self.aug_t = torch.cat([zp, ones, (zp * zp).sum(1, keepdim=True)], 1).T.contiguous()
        self.moments = torch.cat([zp, ones], 1)
        self.radius_z = float(zp.norm(dim=1).max())

    @property
    def size(self) -> int:
        return self.zp.shape[0]

    def fast_rows(self, x, k):
        """Rows whose expansion error (~eps (|x| + |a z|)^2 / w^2 in the exponent, eps of
        this mixture's dtype) stays below 1e-3: there the fast path is as good as the
        direct one."""
        reach = x.norm(dim=1) + k.a.abs() * self.radius_z
        err = torch.finfo(self.zp.dtype).eps * reach * reach / (k.w * k.w)
        return err <= 1e-3

    def fast(self, x, k, *, shift: bool = False):
        """(log-sum-exp of the exponents, posterior mean E z) for rows of x.
        shift=True subtracts each row's largest exponent first, so no row underflows."""
        inv = 1.0 / (k.w * k.w)
        quad = [-0.5 * (x * x).sum(1) * inv, -0.5 * k.a * k.a * inv]
        aug = torch.cat([k.a[:, None] * x * inv[:, None], torch.stack(quad, 1)], 1)
        logits = aug @ self.aug_t
        top = logits.max(1, keepdim=True).values if shift else torch.zeros_like(logits[:, :1])
        if shift:
            logits.sub_(top)
        e = logits.clamp_min_(EXP_FLOOR).exp_()
        mom = e @ self.moments
        mass = mom[:, -1]
        return top[:, 0] + torch.log(mass), mom[:, :-1] / mass[:, None]

    def exponents(self, x, k):
        """Direct exponents -|x - a z|^2 / (2 w^2): (r, N). Differences, not the
        expansion, so the relative error stays at rounding level even for tiny w."""
        mean_x = k.a[:, None] * self.zp[:, 0]
        mean_y = k.a[:, None] * self.zp[:, 1]
        d2 = mean_x.sub_(x[:, :1]).square_().add_(mean_y.sub_(x[:, 1:]).square_())
        return d2.mul_((-0.5 / (k.w * k.w))[:, None])

    def stable(self, x, k):
        logits = self.exponents(x, k)
        top = logits.max(1, keepdim=True).values
        e = logits.sub_(top).clamp_min_(EXP_FLOOR).exp_()
        mom = e @ self.moments
        mass = mom[:, -1]
        return top[:, 0] + torch.log(mass), mom[:, :-1] / mass[:, None]


def _split(k: _Coeffs, sl) -> _Coeffs:
    return _Coeffs(*(f[sl] for f in _fields(k)))


def _evaluate(x, t, data, path, source):
    """Velocity (m, 2) and log-density (m,) at the rows of x."""
    _check(x, data, source)
    if source is not None:
        return _evaluate_drawn(x, t, data, path, source)
    mix = _Mixture(data, x.dtype, x.device)
    k = _coeffs(path, _rows(t, x), False)
    m = x.shape[0]
    lse = torch.full((m,), -math.inf, dtype=x.dtype, device=x.device)
    ez = torch.zeros(m, 2, dtype=x.dtype, device=x.device)
    fast = mix.fast_rows(x, k)
    _fill(mix, x, k, fast, lse, ez)
    # Rows whose components (nearly) all underflowed -- below MIN_LOG_MASS the largest
    # terms sit near the subnormal range -- and rows too coarse in this dtype: max-shifted,
    # in float64 where float32 is too coarse, and by direct differences if even that is.
    left = ~(lse > MIN_LOG_MASS)
    if bool(left.any()):
        _fill(mix, x, k, left & fast, lse, ez, shift=True)
        left &= ~fast
    if bool(left.any()) and x.dtype != torch.float64:
        wide = _Mixture(data, torch.float64, x.device)
        x64, k64 = x.double(), _Coeffs(*(f.double() for f in _fields(k)))
        rows = left & wide.fast_rows(x64, k64)
        _fill(wide, x64, k64, rows, lse, ez, shift=True)
        left &= ~rows
    idx = left.nonzero().flatten()
    for sl in _chunks(len(idx), mix.size):
        i = idx[sl]
        lse[i], ez[i] = mix.stable(x[i], _split(k, i))
    vel = k.da[:, None] * ez + (k.dw / k.w)[:, None] * (x - k.a[:, None] * ez)
    log_p = lse - math.log(mix.size) - torch.log(2 * math.pi * k.w * k.w)
    return vel, log_p


def _drawn(x, t, data, path, source, *, want_posterior=False):
    k = _coeffs(path, _rows(t, x), True)
    res = neighbours.evaluate(
        x=x,
        a=k.a,
        c=k.c,
        w=path.sigma_min,
        data=data.to(device=x.device, dtype=x.dtype),
        source=source.to(device=x.device, dtype=x.dtype),
        want_posterior=want_posterior,
    )
    return k, res


def _evaluate_drawn(x, t, data, path, source):
    """A drawn source: only the components near each row (neighbours.evaluate)."""
    k, res = _drawn(x, t, data, path, source)
    vel = k.da[:, None] * res.mean_z + k.dc[:, None] * res.mean_s  # dw = 0: width sigma_min
    n = data.shape[0] * source.shape[0]
    log_p = res.log_mass - math.log(n) - torch.log(2 * math.pi * k.w * k.w)
    return vel, log_p


def _fill(mix, x, k, rows, lse, mom, *, shift=False) -> None:
    """The fast path on the selected rows (bool (m,)), written into lse and mom (E z)."""
    idx = rows.nonzero().flatten()
    for sl in _chunks(len(idx), mix.size * 2):
        i = idx[sl]
        part_lse, part_mom = mix.fast(x[i], _split(k, i), shift=shift)
        lse[i], mom[i] = part_lse.to(lse.dtype), part_mom.to(mom.dtype)


def _fields(k: _Coeffs):
    return (getattr(k, f) for f in _Coeffs.__dataclass_fields__)


def velocity(
    *,
    x: torch.Tensor,
    t: torch.Tensor | float,
    data: torch.Tensor,
    path: GaussianPath,
    source: torch.Tensor | None = None,
) -> torch.Tensor:
    """Exact marginal field u_t(x). x (m, 2), t float or (m,), data (N, 2), source (M, 2) or
    None for N(0, I) -> (m, 2) in x's dtype."""
    return _evaluate(x, t, data, path, source)[0]


def log_density(
    *,
    x: torch.Tensor,
    t: torch.Tensor | float,
    data: torch.Tensor,
    path: GaussianPath,
    source: torch.Tensor | None = None,
) -> torch.Tensor:
    """log p_t(x) of the marginal mixture. x (m, 2), t float or (m,) -> (m,)."""
    return _evaluate(x, t, data, path, source)[1]


def field(
    *,
    x: torch.Tensor,
    t: torch.Tensor | float,
    data: torch.Tensor,
    path: GaussianPath,
    source: torch.Tensor | None = None,
) -> MarginalField:
    """Velocity and log-density in one pass (the views need both)."""
    v, lp = _evaluate(x, t, data, path, source)
    return MarginalField(velocity=v, log_density=lp)


def posterior(
    *,
    x: torch.Tensor,
    t: torch.Tensor | float,
    data: torch.Tensor,
    path: GaussianPath,
    source: torch.Tensor | None = None,
) -> torch.Tensor:
    """p(z_i | x, t): (m, N), rows sum to 1 (with a drawn source, summed over source points).
    Allocates m x N: meant for a probe or a batch, not a whole grid."""
    _check(x, data, source)
    if source is not None:
        return _drawn(x, t, data, path, source, want_posterior=True)[1].post_z
    mix = _Mixture(data, x.dtype, x.device)
    k = _coeffs(path, _rows(t, x), False)
    return torch.softmax(mix.exponents(x, k), 1).to(x.dtype)
