"""The exact marginal path of an empirical data set: a Gaussian mixture.

With data z_1..z_N and a standard Gaussian source, p_t(x) = (1/N) sum_i N(x; alpha_t z_i,
beta_t^2 I), the posterior p(z_i | x, t) is a softmax of those log-densities, and the marginal
field u_t(x) = sum_i p(z_i | x, t) u_t(x | z_i). Because u_t(x|z) is affine in z, this equals
the conditional field at the posterior mean E[z | x, t] -- one matrix product per chunk.

With a drawn (empirical) source s_1..s_M and sigma_min > 0, each pair (z_i, s_j) is a
component: x_t = alpha_t z_i + b_t s_j + sigma_min eps, so the mixture has N M components
of width sigma_min and the pair-conditional field is d_alpha z_i + d_b s_j. Those are never
all evaluated (or built). At one t the mixture is a convolution of the scaled data and
source, computed on a lattice with FFTs (core.gridded, cost independent of N M) wherever
float64 holds it, and summed exactly over the thin shell of pairs that matter elsewhere
(core.tails, far from every component); with a t per row, or few pairs, core.neighbours
keeps only the pairs near each row. Each route states its bound on what it drops.

Rows are done in chunks of CHUNK_ELEMENTS exponents per torch thread (cache-sized, so
memory stays bounded for any grid and data size, and few enough ops that a busy thread pool
does not wait at many barriers). The fast form expands |x - mean|^2 into matrix products,
with every row's exponents shifted by their maximum (no row underflows, even far from all
data); near t = 1 (tiny width) that expansion rounds badly in float32, so such rows take the
same products in float64 (accurate down to the T_MAX width), and any row still out of reach
is done with direct differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from flowviz.core import gridded, neighbours, tails
from flowviz.core.paths import GaussianPath, _rows

#: Exponents per evaluation chunk and torch thread (the chunk stays in the L2 cache).
CHUNK_ELEMENTS = 1 << 18
#: Exponents (shifted by the row maximum) are clamped here before exp. Below about -87
#: float32 exp leaves the normal range and runs many times slower, and so does the moments
#: product wherever e^floor times a coordinate is subnormal: e^-60 ~ 9e-27 keeps those
#: products normal for coordinates down to ~1e-11, and such terms weigh < 1e-26 of the
#: row's largest one.
EXP_FLOOR = -60.0
#: A drawn source with at least this many pairs, queried at this many rows or more at one
#: t, goes through the lattice (a few FFTs whatever N M is); fewer are summed directly.
LATTICE_PAIRS = 4096
LATTICE_ROWS = 64


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
    step = max(1, CHUNK_ELEMENTS * max(1, torch.get_num_threads()) // max(p, 1))
    for lo in range(0, m, step):
        yield slice(lo, min(m, lo + step))


class _Mixture:
    """The data points of one evaluation (Gaussian source), centred on their mean o, with
    the matrices of the fast path.

    With y = x - a o and z' = z - o, the exponent -|x - a z|^2 / (2 w^2) is
    -|y|^2 / (2 w^2) + l, l = (a y.z' - a^2 |z'|^2 / 2) / w^2: one matrix product of a
    per-row [a y / w^2, -a^2 / (2 w^2)] (r, 3) with a per-component [z', |z'|^2] (3, N).
    The row term -|y|^2 / (2 w^2) is left out of the products (it cancels in the
    posterior), so l is max-shifted per row, clamped and exp-ed in place, and a second
    product with [z', 1] gives mass and mean: two GEMMs, no (r, N, 2) temporaries.
    """

    def __init__(self, data, dtype, device):
        zp = data.to(device=device, dtype=dtype)
        self.zp = zp
        self.origin = zp.mean(0)
        zc = zp - self.origin
        self.aug_t = torch.cat([zc.T, (zc * zc).sum(1)[None]], 0).contiguous()  # (3, N)
        self.moments_t = torch.cat([zc.T, torch.ones_like(zc[:, 0])[None]], 0).contiguous()
        self.radius_z = float(zc.norm(dim=1).max())

    @property
    def size(self) -> int:
        return self.zp.shape[0]

    def centred(self, x, k):
        """y = x - a o: (r, 2)."""
        return x - k.a[:, None] * self.origin

    def fast_rows(self, x, k):
        """Rows whose expansion error (~eps (|y| + |a z'|)^2 / w^2 in the exponent, eps of
        this mixture's dtype) stays below 1e-3: there the fast path is as good as the
        direct one."""
        reach = self.centred(x, k).norm(dim=1) + k.a.abs() * self.radius_z
        err = torch.finfo(self.zp.dtype).eps * reach * reach / (k.w * k.w)
        return err <= 1e-3

    def fast(self, x, k):
        """(log-sum-exp of the exponents (r,), posterior mean E z (r, 2)) for rows of x,
        max-shifted per row so that no row underflows, in chunks of cache size."""
        inv = 1.0 / (k.w * k.w)
        y = self.centred(x, k)
        aug = torch.cat([(k.a * inv)[:, None] * y, (-0.5 * k.a * k.a * inv)[:, None]], 1)
        r = x.shape[0]
        top = torch.empty(r, dtype=x.dtype, device=x.device)
        mom = torch.empty(3, r, dtype=x.dtype, device=x.device)
        buf = None
        for sl in _chunks(r, self.size):
            n = sl.stop - sl.start
            if buf is None:
                buf = torch.empty(n, self.size, dtype=x.dtype, device=x.device)
            logits = torch.mm(aug[sl], self.aug_t, out=buf[:n])
            peak = logits.amax(1, keepdim=True)
            logits.sub_(peak).clamp_min_(EXP_FLOOR).exp_()
            torch.mm(self.moments_t, logits.T, out=mom[:, sl])
            top[sl] = peak[:, 0]
        mass = mom[2]
        lse = top + torch.log(mass) - 0.5 * inv * (y * y).sum(1)
        return lse, self.origin + mom[:2].T / mass[:, None]

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
        mass = e.sum(1)
        return top[:, 0] + torch.log(mass), (e @ self.zp) / mass[:, None]


def _split(k: _Coeffs, sl) -> _Coeffs:
    return _Coeffs(*(f[sl] for f in _fields(k)))


def _evaluate(x, t, data, path, source):
    """Velocity (m, 2) and log-density (m,) at the rows of x."""
    _check(x, data, source)
    if source is not None:
        return _evaluate_drawn(x, t, data, path, source)
    mix = _Mixture(data, x.dtype, x.device)
    k = _coeffs(path, _rows(t, x), False)
    # The fast path where this dtype is fine enough; rows too coarse in it (tiny width near
    # t = 1, far tails) take the same products in float64, and direct differences if even
    # that is too coarse.
    fast = mix.fast_rows(x, k)
    if bool(fast.all()):
        lse, ez = mix.fast(x, k)
    else:
        m = x.shape[0]
        lse = torch.full((m,), -math.inf, dtype=x.dtype, device=x.device)
        ez = torch.zeros(m, 2, dtype=x.dtype, device=x.device)
        _fill(mix, x, k, fast, lse, ez)
        left = ~fast
        if x.dtype != torch.float64:
            wide = _Mixture(data, torch.float64, x.device)
            x64, k64 = x.double(), _Coeffs(*(f.double() for f in _fields(k)))
            rows = left & wide.fast_rows(x64, k64)
            _fill(wide, x64, k64, rows, lse, ez)
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
    """A drawn source. At one t and with many pairs: the lattice convolution
    (core.gridded) where it holds, the exact shell sums (core.tails) elsewhere; with a t
    per row, only the components near each row (core.neighbours)."""
    k = _coeffs(path, _rows(t, x), True)
    if _one_t_and_many(x, k, data, source):
        log_mass, vel = _lattice_and_tails(x, k, path.sigma_min, data, source)
    else:
        res = _drawn(x, t, data, path, source)[1]
        log_mass = res.log_mass
        vel = k.da[:, None] * res.mean_z + k.dc[:, None] * res.mean_s  # dw = 0
    return vel, _pairs_log_p(log_mass, data, source, path.sigma_min)


def _pairs_log_p(log_mass, data, source, w: float):
    """log p_t from log sum_ij exp(-|x - mean_ij|^2 / (2 w^2)): N M components of width w."""
    return log_mass - math.log(data.shape[0] * source.shape[0]) - math.log(2 * math.pi * w * w)


def _one_t_and_many(x, k: _Coeffs, data, source) -> bool:
    """Rows at one t, with enough pairs and rows for a lattice to pay."""
    many = data.shape[0] * source.shape[0] >= LATTICE_PAIRS and x.shape[0] >= LATTICE_ROWS
    return many and bool((k.a == k.a[0]).all() and (k.c == k.c[0]).all())


def _lattice(k: _Coeffs, w, data, source) -> gridded.Lattice | None:
    """The (cached) lattice at the rows' one t, or None where it would be too wide."""
    a, c, da, dc = (float(f[0]) for f in (k.a, k.c, k.da, k.dc))
    if not gridded.fits(data, source, a, c, w):
        return None
    return gridded.lattice_for(a=a, c=c, da=da, dc=dc, w=w, data=data, source=source)


def _lattice_and_tails(x, k: _Coeffs, w, data, source):
    """log sum_ij exp(-|x - mean_ij|^2 / (2 w^2)) (m,) and the field (m, 2) at one t."""
    log_mass = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    vel = torch.empty(x.shape[0], 2, dtype=x.dtype, device=x.device)
    rest = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    lattice = _lattice(k, w, data, source)
    if lattice is not None:
        cov = lattice.evaluate(x)
        log_mass[cov.rows], vel[cov.rows] = cov.log_mass, cov.velocity
        rest = ~cov.rows
    if bool(rest.any()):
        log_cut = math.log(data.shape[0] * source.shape[0] / neighbours.PRUNE_TOL)
        a, c, da, dc = (float(f[0]) for f in (k.a, k.c, k.da, k.dc))
        lm, v = tails.evaluate(
            x=x[rest], a=a, c=c, da=da, dc=dc, w=w, data=data, source=source, log_cut=log_cut
        )
        log_mass[rest], vel[rest] = lm.to(x.dtype), v.to(x.dtype)
    return log_mass, vel


def _fill(mix, x, k, rows, lse, ez) -> None:
    """The fast path on the selected rows (bool (m,)), written into lse and ez."""
    idx = rows.nonzero().flatten()
    if len(idx):
        part_lse, part_ez = mix.fast(x[idx], _split(k, idx))
        lse[idx], ez[idx] = part_lse.to(lse.dtype), part_ez.to(ez.dtype)


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


def density(
    *,
    x: torch.Tensor,
    t: float,
    data: torch.Tensor,
    path: GaussianPath,
    source: torch.Tensor | None = None,
) -> torch.Tensor:
    """p_t(x) (m,) for a heat map: exact to an absolute gridded.FLOOR of the density's
    peak. With a drawn source the rows off the lattice (p_t below that there) are 0,
    without their shell sums (most of a view, and most of the cost, lies far out)."""
    f = field_where_dense(x=x, t=t, data=data, path=path, source=source)
    return torch.exp(f.log_density)


def field_where_dense(
    *,
    x: torch.Tensor,
    t: float,
    data: torch.Tensor,
    path: GaussianPath,
    source: torch.Tensor | None = None,
) -> MarginalField:
    """Velocity and log-density where p_t is at least gridded.FLOOR of its peak; elsewhere
    a NaN velocity and a log-density of -inf. For maps of where the flow carries mass (a
    heat layer, the Learned view's error map): with a drawn source the far rows' shell
    sums, most of the cost, are skipped. The peak is the lattice's (a drawn source) or the
    largest over the rows (a Gaussian source, or rows that take the exact route)."""
    _check(x, data, source)
    k = _coeffs(path, _rows(t, x), source is not None)
    lattice = None
    if source is not None and _one_t_and_many(x, k, data, source):
        lattice = _lattice(k, path.sigma_min, data, source)
    if lattice is None:
        v, lp = _evaluate(x, t, data, path, source)
        far = lp < lp.max() + math.log(gridded.FLOOR) if lp.numel() else lp > 0
        return MarginalField(
            velocity=v.masked_fill(far[:, None], math.nan),
            log_density=lp.masked_fill(far, -math.inf),
        )
    cov = lattice.evaluate(x)
    lp = torch.full((x.shape[0],), -math.inf, dtype=x.dtype, device=x.device)
    v = torch.full((x.shape[0], 2), math.nan, dtype=x.dtype, device=x.device)
    lp[cov.rows] = _pairs_log_p(cov.log_mass, data, source, path.sigma_min)
    v[cov.rows] = cov.velocity
    return MarginalField(velocity=v, log_density=lp)


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
