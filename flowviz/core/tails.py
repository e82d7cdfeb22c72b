"""The drawn-source mixture far from its components, summed exactly over the few that
matter.

Far from every mean a z_i + c s_j (where core.gridded's lattice loses its float64 range),
the sum over the N M pairs is dominated by the pairs within a thin shell around the
nearest one: a pair whose exponent -d^2 / (2 w^2) is more than L below the largest weighs
< e^-L of it, so only d^2 <= d_min^2 + 2 w^2 L matters (L = log(N M / PRUNE_TOL): the
dropped mass is < PRUNE_TOL of the kept one, as in core.neighbours).

The shell is found from both sides without touching the N M pairs. With S' = c S:
|x - a z_i - c s_j| >= dist(x - a z_i, S') for every j, and the distance to a point set is
1-Lipschitz, so one table of dist(., S') on a lattice of spacing g bounds it for every
(query, data point) pair within |y - node|: a lower bound LB_i and an upper bound UB_i per
data point. The same with the roles swapped gives LB'_j for each source point. The nearest
pair lies below min_i UB_i = D, so the pairs that can matter have LB_i^2 and LB'_j^2 both
<= D^2 + 2 w^2 L: far out that is a few data points facing the query times a few source
points, summed exactly by direct differences in float64 with a per-row max shift.
"""

from __future__ import annotations

import math

import torch
from scipy.spatial import cKDTree

from flowviz.core.neighbours import morton_order

#: Table spacing as a fraction of w (the bounds are loose by about g).
SPACING = 1.0
#: Most table nodes per axis (a wide spread with a tiny w gets a coarser, looser table).
MAX_TABLE = 256
#: The table reaches this many w past its points (farther, the box distance bounds it).
MARGIN = 12.0
#: Points per leaf (a leaf's bound rules out all its points at once).
LEAF = 16
#: Where more than this share of the inner leaves is near, all inner points are summed in
#: one matrix product instead of gathered one by one.
DENSE_SHARE = 0.5
#: (query, point) lookups per chunk, and pairs per evaluation chunk.
CHUNK_LOOKUPS = 1 << 21
CHUNK_PAIRS = 1 << 16


class _DistanceTable:
    """dist(y, P) on a lattice around the points P (n, 2), with bounds for any y."""

    def __init__(self, p: torch.Tensor, w: float):
        lo, hi = p.amin(0) - MARGIN * w, p.amax(0) + MARGIN * w
        g = max(SPACING * w, float((hi - lo).max()) / (MAX_TABLE - 1))
        n = [math.ceil(float(v) / g) + 1 for v in hi - lo]
        gx = torch.arange(n[0], dtype=p.dtype) * g + lo[0]
        gy = torch.arange(n[1], dtype=p.dtype) * g + lo[1]
        nodes = torch.stack(torch.meshgrid(gx, gy, indexing="ij"), -1).reshape(-1, 2)
        d, _ = cKDTree(p.numpy()).query(nodes.numpy())
        self.table = torch.from_numpy(d).reshape(n[0], n[1])
        self.lo, self.g, self.n = lo, g, n
        self.box_lo, self.box_hi = p.amin(0), p.amax(0)

    def bounds(self, y: torch.Tensor):
        """Lower and upper bounds of dist(y, P) for y (..., 2)."""
        k = torch.round((y - self.lo) / self.g).long()
        kx = k[..., 0].clamp(0, self.n[0] - 1)
        ky = k[..., 1].clamp(0, self.n[1] - 1)
        node = torch.stack([kx, ky], -1).to(y.dtype) * self.g + self.lo
        r = (y - node).norm(dim=-1)
        t = self.table[kx, ky]
        outside = (torch.maximum(self.box_lo - y, y - self.box_hi)).clamp_min(0).norm(dim=-1)
        return torch.maximum(t - r, outside), t + r


class _Leaves:
    """Points along a Morton curve in leaves of LEAF: per leaf a centre and a radius, so
    one bound per leaf rules out its points (dist is 1-Lipschitz)."""

    def __init__(self, p: torch.Tensor):
        order = morton_order(p)
        n = p.shape[0]
        count = -(-n // LEAF)
        pad = count * LEAF - n
        self.index = torch.cat([order, order[-1:].expand(pad)]).reshape(count, LEAF)
        pts = p[self.index]  # (L, LEAF, 2)
        self.centre = (pts.amin(1) + pts.amax(1)) / 2
        self.radius = (pts - self.centre[:, None]).norm(dim=2).amax(1)
        self.real = torch.ones(count * LEAF, dtype=torch.bool)
        if pad:
            self.real[n:] = False
        self.real = self.real.reshape(count, LEAF)


def _leaf_bounds(q, leaves: _Leaves, scale: float, table: _DistanceTable):
    """Bounds of dist(q_row - scale p, other side) over each leaf's points: (r, L) each."""
    lb, ub = table.bounds(q[:, None, :] - scale * leaves.centre[None])
    slack = abs(scale) * leaves.radius
    return lb - slack, ub + slack


def _kept(q, leaves: _Leaves, keep_leaf, scale: float, pts, table: _DistanceTable, cut):
    """The (row, point) pairs of the kept (row, leaf) pairs whose own lower bound is within
    sqrt(cut): (row, point) (k,) each, and each row's smallest upper bound over them (r,)."""
    row, leaf = keep_leaf.nonzero(as_tuple=True)
    idx = leaves.index[leaf]  # (k, LEAF)
    lb, ub = table.bounds(q.index_select(0, row)[:, None, :] - scale * pts[idx])
    ok = leaves.real[leaf] & (lb.clamp_min(0).square() <= cut.index_select(0, row)[:, None])
    top = torch.full((q.shape[0],), math.inf, dtype=q.dtype)
    top.scatter_reduce_(0, row, ub.masked_fill(~ok, math.inf).amin(1), reduce="amin")
    r2, slot = ok.nonzero(as_tuple=True)
    return (row[r2], idx[r2, slot]), top


def evaluate(*, x, a, c, da, dc, w, data, source, log_cut):
    """log sum_ij exp(-|x - a z_i - c s_j|^2 / (2 w^2)) (m,) and the posterior mean of
    da z_i + dc s_j (m, 2) at the rows of x (m, 2), float64, for rows far from the
    components (any row is right, but near them the shell holds many pairs)."""
    f64 = torch.float64
    x, z, s = x.to(f64), data.to(f64), source.to(f64)
    if c == 0 or a == 0:
        return _one_sided(x, a, c, da, dc, w, z, s)
    table_s, table_z = _DistanceTable(c * s, w), _DistanceTable(a * z, w)
    leaves_z, leaves_s = _Leaves(z), _Leaves(s)
    reach = 2.0 * w * w * log_cut
    log_mass = torch.empty(x.shape[0], dtype=f64)
    vel = torch.empty(x.shape[0], 2, dtype=f64)
    step = max(1, CHUNK_LOOKUPS // (leaves_z.centre.shape[0] + leaves_s.centre.shape[0]))
    for lo in range(0, x.shape[0], step):
        q = x[lo : lo + step]
        lb_z, ub_z = _leaf_bounds(q, leaves_z, a, table_s)
        lb_s, ub_s = _leaf_bounds(q, leaves_s, c, table_z)
        top = torch.minimum(ub_z.amin(1), ub_s.amin(1))
        cut = top.square() + reach
        keep_z = lb_z.clamp_min(0).square() <= cut[:, None]
        keep_s = lb_s.clamp_min(0).square() <= cut[:, None]
        # the side with fewer kept points leads, point by point (their own upper bounds
        # sharpen the cut); the other side is searched by leaves around each of them
        if int(keep_s.sum()) <= int(keep_z.sum()):
            outer, top_p = _kept(q, leaves_s, keep_s, c, s, table_z, cut)
            sides = (c * s, dc * s), (leaves_z, a, a * z, da * z)
        else:
            outer, top_p = _kept(q, leaves_z, keep_z, a, z, table_s, cut)
            sides = (a * z, da * z), (leaves_s, c, c * s, dc * s)
        sharp = torch.minimum(top, top_p).square() + reach
        sums = _pairs(q, outer, *sides, sharp, w)
        log_mass[lo : lo + step], vel[lo : lo + step] = sums.result()
    return log_mass, vel


def _pairs(q, outer, outer_side, inner_side, cut, w) -> _Sums:
    """Sums over the pairs within sqrt(cut (r,)) of their row: each kept (row, outer point)
    meets the inner side's points around q_row - outer point, found by leaves where few
    are near, or all of them in one matrix product where most are (a tiny scale: the inner
    points nearly coincide)."""
    (row_o, idx_o), (pts_o, vals_o) = outer, outer_side
    leaves, scale, pts, vals = inner_side
    inv = -0.5 / (w * w)
    acc = _Sums(q.shape[0], q.dtype)
    centre = scale * leaves.centre
    c2 = centre.square().sum(1)
    slack = abs(scale) * leaves.radius
    step = max(1, CHUNK_PAIRS // max(leaves.centre.shape[0], pts.shape[0] // 4))
    for lo in range(0, len(row_o), step):
        row, io = row_o[lo : lo + step], idx_o[lo : lo + step]
        y = q.index_select(0, row) - pts_o.index_select(0, io)  # (k, 2)
        v_o = vals_o.index_select(0, io)
        # |y - centre| <= reach + radius, squared and expanded (one small matrix product);
        # the slack covers its rounding, and a leaf kept too many costs no exactness
        d2c = torch.addmm(y.square().sum(1)[:, None] + c2[None], y, centre.T, alpha=-2)
        lim = (cut.index_select(0, row).sqrt()[:, None] + slack[None]).square_()
        near = d2c <= lim.mul_(1 + 1e-9).add_(1e-12)
        if float(near.sum()) > DENSE_SHARE * near.numel():
            # |y - p|^2 expanded: float64 keeps the exponent to ~1e-12 here
            e = torch.addmm(
                y.square().sum(1)[:, None] + pts.square().sum(1)[None], y, pts.T, alpha=-2
            )
            e.mul_(inv)
            top = e.amax(1)
            p = torch.exp(e.sub_(top[:, None]))
            mass = p.sum(1)
            acc.add(row, top, mass, p @ vals + mass[:, None] * v_o)
            continue
        k, leaf = near.nonzero(as_tuple=True)
        ii = leaves.index.index_select(0, leaf)  # (k', LEAF)
        d2 = (y.index_select(0, k)[:, None, :] - pts[ii]).square_().sum(2)
        ok = leaves.real.index_select(0, leaf) & (
            d2 <= cut.index_select(0, row.index_select(0, k))[:, None]
        )
        kk, slot = ok.nonzero(as_tuple=True)
        src = k.index_select(0, kk)
        e = d2[kk, slot].mul_(inv)
        v = v_o.index_select(0, src) + vals.index_select(0, ii[kk, slot])
        acc.add(row.index_select(0, src), e, torch.ones_like(e), v)
    return acc


class _Sums:
    """Per-row running log-sum-exp and weighted moment, merged chunk by chunk (each chunk
    is reduced to per-row sums at once: no pair-sized array outlives its chunk)."""

    def __init__(self, r: int, dtype):
        self.best = torch.full((r,), -math.inf, dtype=dtype)
        self.sums = torch.zeros(r, 3, dtype=dtype)

    def add(self, row, top, mass, mom) -> None:
        """Partial sums: mass e^top of weight and mom e^top of weight times value."""
        best = torch.full_like(self.best, -math.inf)
        best.scatter_reduce_(0, row, top, reduce="amax")
        f = torch.exp(top - best.index_select(0, row))
        sums = torch.zeros_like(self.sums)
        sums.index_add_(0, row, torch.cat([(f * mass)[:, None], f[:, None] * mom], 1))
        new = torch.maximum(self.best, best)
        keep = torch.exp(self.best - new).nan_to_num_(0.0)  # -inf - -inf: nothing yet
        fresh = torch.exp(best - new).nan_to_num_(0.0)
        self.sums = self.sums * keep[:, None] + sums * fresh[:, None]
        self.best = new

    def result(self):
        """log-sum-exp (r,) and weighted mean (r, 2)."""
        s = self.sums
        return self.best + torch.log(s[:, 0]), s[:, 1:] / s[:, :1]


def _one_sided(x, a, c, da, dc, w, z, s):
    """a = 0 or c = 0: every mean is one of the N (or M) points, each M (or N) times."""
    if c == 0:
        pts, vals, copies = a * z, da * z + dc * s.mean(0), s.shape[0]
    else:
        pts, vals, copies = c * s, dc * s + da * z.mean(0), z.shape[0]
    step = max(1, CHUNK_LOOKUPS // pts.shape[0])
    lm, vel = [], []
    for lo in range(0, x.shape[0], step):
        e = torch.cdist(x[lo : lo + step], pts).square_().mul_(-0.5 / (w * w))
        lm.append(torch.logsumexp(e, 1) + math.log(copies))
        vel.append(torch.softmax(e, 1) @ vals)
    return torch.cat(lm), torch.cat(vel)
