"""The drawn-source mixture as a convolution: cost independent of the N M components.

With data z_1..z_N, a drawn source s_1..s_M and width w = sigma_min, the mixture of the
N M Gaussians N(a z_i + c s_j, w^2 I) at a common t is a convolution:

    sum_ij phi_w(x - a z_i - c s_j) = (f_A * f_C * phi_e)(x),
    f_A = sum_i phi_u(. - a z_i),  f_C = sum_j phi_u(. - c s_j),

because Gaussians compose, u^2 + u^2 + e^2 = w^2 (u = sqrt(3/8) w, e = w / 2). The same
holds with a factor z_i (or s_j) in the sums, which gives the posterior means. So f_A and
f_C are sampled on lattices of spacing h (two small matrix products each: the Gaussian is
separable), convolved with one FFT product, and the result is summed against phi_e around
each query: the cost is a few FFTs of a few hundred squared nodes, whatever N M is.

Both discrete sums are exact Riemann sums of non-negative Gaussian integrands of standard
deviation sqrt(3/16) w = h RHO; by Poisson summation their relative error is at most about
4 exp(-2 pi^2 RHO^2) = 2e-10, relative to each query's own value (the integrands are all
positive). Kernels are cut at SPREAD_R standard deviations and the evaluation window at
EVAL_R w, which loses < e^-28 of each pair that weighs more than e^-25 of the query's
largest. The FFT product, in float64, adds an absolute error of ~1e-16 of the largest grid
value: rows whose value is below FLOOR of it (the tails, far from every component) or off
the lattice are "not covered" and go to the exact pruned sum (core.neighbours).
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass

import torch
from scipy.fft import next_fast_len

#: Integrand standard deviation over the lattice spacing (module docstring).
RHO = 1.1
#: Spreading and evaluation widths as fractions of w (u^2 + u^2 + e^2 = 1).
U = math.sqrt(3 / 8)
E = 0.5
#: Spreading kernels reach this many of their standard deviations from the box.
SPREAD_R = 8.0
#: The evaluation window's half-width, in units of w.
EVAL_R = 3.5
#: Rows below this fraction of the largest grid value are left to the exact sum.
FLOOR = 1e-9
#: Lattices larger than this per axis (tiny w over a wide spread) are not worth it.
MAX_NODES = 1024
#: Lattices one thread keeps (a 1000 x 200 moons lattice at sigma_min = 0.05 is ~1 MB), for
#: this many point sets (the Marginal and the Learned view's error map ask for the same).
CACHE_BYTES = 96 << 20
FAMILIES = 3
#: Queries per evaluation chunk (a chunk gathers (2 K)^2 nodes x 5 channels per query).
CHUNK_ROWS = 256


@dataclass(frozen=True)
class Covered:
    """Rows of the query that the lattice covers (bool (m,)) and, for those rows,
    log_mass (k,) = log sum_ij exp(-|x - mean_ij|^2 / (2 w^2)) and the field (k, 2)
    sum_ij weight_ij (da z_i + dc s_j) / sum_ij weight_ij."""

    rows: torch.Tensor
    log_mass: torch.Tensor
    velocity: torch.Tensor


def _axis(p: torch.Tensor, h: float, reach: float):
    """Lattice along one axis covering p (n,) +- reach: origin, node count."""
    lo = float(p.min()) - reach
    return lo, math.ceil((float(p.max()) + reach - lo) / h) + 1


def _phi1(d: torch.Tensor, s: float, cut: float = math.inf) -> torch.Tensor:
    """The 1-D normal density of std s at d, zero beyond cut standard deviations (which
    also keeps subnormals, many times slower in a matrix product, out)."""
    e = d.square() * (-0.5 / (s * s))
    return torch.exp(e.masked_fill_(e < -0.5 * cut * cut, -math.inf)) / (math.sqrt(2 * math.pi) * s)


def _spread(p: torch.Tensor, v: torch.Tensor, h: float, s: float):
    """sum_k [1, v_k] phi_s(y - p_k) on a lattice around the points p (n, 2) with values
    v (n, 2): grids (3, nx, ny), origin (2,). One matrix product: the kernel is
    separable."""
    reach = SPREAD_R * s
    (ox, nx), (oy, ny) = _axis(p[:, 0], h, reach), _axis(p[:, 1], h, reach)
    kx = torch.arange(nx, dtype=p.dtype) * h + ox
    ky = torch.arange(ny, dtype=p.dtype) * h + oy
    ex = _phi1(kx[None, :] - p[:, :1], s, SPREAD_R)  # (n, nx)
    ey = _phi1(ky[None, :] - p[:, 1:], s, SPREAD_R)  # (n, ny)
    right = torch.cat([ey, v[:, :1] * ey, v[:, 1:] * ey], 1)  # (n, 3 ny)
    # float32 products: each node's sum of positive terms keeps a relative 1e-7, which the
    # convolution (of positive grids) keeps too; the FFT itself runs in float64
    grids = (ex.T.float() @ right.float()).double().reshape(nx, 3, ny).transpose(0, 1)
    return grids, (ox, oy)


def _spacing(w: float) -> float:
    return math.sqrt(3 / 16) * w / RHO


class Lattice:
    """The mixture's mass and field moments convolved onto a lattice at one (a, c): per
    node sum_ij phi(y - mean_ij) [1, da z_i + dc s_j] without the last phi_e (computed in
    float64, kept in float32); evaluate() adds phi_e and reads them at queries."""

    def __init__(self, *, a, c, da, dc, w, data: torch.Tensor, source: torch.Tensor):
        f64 = torch.float64
        self.w, self.h = w, _spacing(w)
        z, s = data.to(f64), source.to(f64)
        grid_a, o_a = _spread(a * z, da * z, self.h, U * w)
        grid_c, o_c = _spread(c * s, dc * s, self.h, U * w)
        nx = grid_a.shape[1] + grid_c.shape[1] - 1
        ny = grid_a.shape[2] + grid_c.shape[2] - 1
        size = (next_fast_len(nx, real=True), next_fast_len(ny, real=True))
        fa = torch.fft.rfft2(grid_a, s=size)
        fc = torch.fft.rfft2(grid_c, s=size)
        prods = torch.stack(
            [fa[0] * fc[0], fa[1] * fc[0] + fa[0] * fc[1], fa[2] * fc[0] + fa[0] * fc[2]]
        )
        grids = torch.fft.irfft2(prods, s=size)[:, :nx, :ny] * (self.h * self.h)
        self.floor = FLOOR * float(grids[0].max())
        # kept in float32, node-major for the gathers: sums of positive terms keep their
        # relative 1e-7 at any magnitude, and a lattice is half the memory to cache
        self.flat = grids.reshape(3, -1).T.to(torch.float32).contiguous()  # (nx ny, 3)
        self.origin = torch.tensor([o_a[0] + o_c[0], o_a[1] + o_c[1]], dtype=f64)
        self.shape = (nx, ny)

    @property
    def nbytes(self) -> int:
        return self.flat.numel() * self.flat.element_size()

    def _weights(self, p: torch.Tensor, axis: int):
        """Node indices (r, 2K) around coordinates p (r,) and their h phi_e weights."""
        h = self.h
        half = math.ceil(EVAL_R * self.w / h)
        o = float(self.origin[axis])
        idx = torch.floor((p - o) / h).long()[:, None] + torch.arange(-half + 1, half + 1)
        return idx, _phi1(p[:, None] - (idx.to(p.dtype) * h + o), E * self.w) * h

    def evaluate(self, x: torch.Tensor) -> Covered:
        """The mixture at the rows of x (m, 2): a tensor grid of queries (the views' arrow
        and heat grids) as two matrix products, scattered rows by gathering the nodes
        around each."""
        xd = x.to(torch.float64)
        ux, inv_x = torch.unique(xd[:, 0], return_inverse=True)
        uy, inv_y = torch.unique(xd[:, 1], return_inverse=True)
        if len(ux) * len(uy) <= 2 * x.shape[0]:
            sums, inside = self._on_grid(ux, uy)
            sums, inside = sums[:, inv_x, inv_y].T, inside[inv_x, inv_y]
        else:
            sums, inside = self._scattered(xd)
        ok = inside & (sums[:, 0] > self.floor)
        sel = sums[ok]
        mass = sel[:, 0]
        return Covered(
            rows=ok,
            log_mass=torch.log(mass * (2 * math.pi * self.w * self.w)).to(x.dtype),
            velocity=(sel[:, 1:] / mass[:, None]).to(x.dtype),
        )

    def _inside(self, ix, iy):
        nx, ny = self.shape
        return (ix[:, 0] >= 0) & (ix[:, -1] < nx), (iy[:, 0] >= 0) & (iy[:, -1] < ny)

    def _on_grid(self, ux, uy):
        """(3, gx, gy) sums and (gx, gy) inside at the tensor grid ux x uy."""
        nx, ny = self.shape
        ix, wx = self._weights(ux, 0)
        iy, wy = self._weights(uy, 1)
        in_x, in_y = self._inside(ix, iy)
        mx = torch.zeros(len(ux), nx, dtype=wx.dtype)
        mx.scatter_add_(1, ix.clamp(0, nx - 1), wx)
        my = torch.zeros(len(uy), ny, dtype=wy.dtype)
        my.scatter_add_(1, iy.clamp(0, ny - 1), wy)
        grids = self.flat.T.reshape(3, nx, ny).double()
        return mx @ grids @ my.T, in_x[:, None] & in_y[None, :]

    def _scattered(self, xd):
        """(m, 3) sums and (m,) inside, gathering 4 K^2 nodes per row in chunks."""
        nx, ny = self.shape
        flat = self.flat
        sums = torch.empty(xd.shape[0], 3, dtype=torch.float64)
        inside = torch.empty(xd.shape[0], dtype=torch.bool)
        for lo in range(0, xd.shape[0], CHUNK_ROWS):
            q = xd[lo : lo + CHUNK_ROWS]
            ix, wx = self._weights(q[:, 0], 0)
            iy, wy = self._weights(q[:, 1], 1)
            in_x, in_y = self._inside(ix, iy)
            nodes = (
                ix.clamp(0, nx - 1)[:, :, None] * ny + iy.clamp(0, ny - 1)[:, None, :]
            ).flatten(1)
            wgt = (wx[:, :, None] * wy[:, None, :]).flatten(1).to(torch.float32)
            g = flat.index_select(0, nodes.flatten()).reshape(*nodes.shape, 3)
            sums[lo : lo + CHUNK_ROWS] = torch.bmm(wgt[:, None, :], g)[:, 0].double()
            inside[lo : lo + CHUNK_ROWS] = in_x & in_y
        return sums, inside


def fits(data: torch.Tensor, source: torch.Tensor, a: float, c: float, w: float) -> bool:
    """Whether the lattice at (a, c) stays within MAX_NODES per axis."""
    reach = 2 * SPREAD_R * U * w
    span = abs(a) * (data.amax(0) - data.amin(0)) + abs(c) * (source.amax(0) - source.amin(0))
    return all(math.ceil((float(v) + reach) / _spacing(w)) + 2 <= MAX_NODES for v in span)


_cache = threading.local()


def _digest(v: torch.Tensor) -> bytes:
    return hashlib.blake2b(v.detach().cpu().contiguous().numpy().tobytes(), digest_size=16).digest()


def lattice_for(*, a, c, da, dc, w, data: torch.Tensor, source: torch.Tensor) -> Lattice:
    """The Lattice at these coefficients, from this thread's cache when asked again for the
    same points (by content: the views hand over fresh copies): a frame asks at one t for
    its arrow and heat grids, and the particles, integrated in chunks, and the frames ahead
    of every view revisit the same time steps. The cache keeps FAMILIES point sets, and
    stops growing at CACHE_BYTES (it keeps the first time steps rather than thrash on the
    cyclic sweep of a trajectory)."""
    family = (w, tuple(data.shape), tuple(source.shape), _digest(data), _digest(source))
    families = getattr(_cache, "families", None)
    if families is None:
        families = _cache.families = {}
    store = families.pop(family, None) or {"bytes": 0, "at": {}}
    families[family] = store  # most recent last
    while len(families) > FAMILIES:
        families.pop(next(iter(families)))
    key = (a, c, da, dc)
    hit = store["at"].get(key)
    if hit is None:
        hit = Lattice(a=a, c=c, da=da, dc=dc, w=w, data=data, source=source)
        if sum(f["bytes"] for f in families.values()) + hit.nbytes <= CACHE_BYTES:
            store["at"][key] = hit
            store["bytes"] += hit.nbytes
    return hit


def clear_cache() -> None:
    """Forget this thread's lattices (benchmarks time cold frames)."""
    _cache.families = {}
