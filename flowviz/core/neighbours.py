"""The drawn-source mixture without its N M components: only the pairs near each query.

With data z_1..z_N, a drawn source s_1..s_M and sigma_min = w > 0 the marginal p_t is a
mixture of N M Gaussians N(a z_i + c s_j, w^2 I). Evaluating every component at every query
costs m N M exponentials (seconds to minutes for a frame) and materialising the components
costs N M memory. But each component has width w, so at a query x only the components whose
mean lies within a few w of the nearest one matter.

The algorithm (all batched tensor ops, no Python loop over points):

1. Data, source and queries are sorted along a Morton (Z-order) curve and cut into leaves of
   a few points each, with their bounding boxes. A (data leaf, source leaf) pair holds the
   components of its points; the means of a pair lie in the Minkowski sum of the scaled
   boxes, a c-box plus an a-box (for a block of queries with a range of t, the union over
   the range: the box is linear in a and c, so its corners bound it).
2. For a query block B and a pair P: dmin(B, P) <= |x - mean| <= dmax(B, P) for every query
   x in B and component in P. So every x in B has its nearest component within
   D_B = min_P dmax(B, P), and a component whose exponent -|x - mean|^2 / (2 w^2) is within
   L of that row's largest has |x - mean|^2 <= D_B^2 + 2 w^2 L. Pairs with
   dmin(B, P)^2 > D_B^2 + 2 w^2 L are dropped: none of their components is that close.
   At the leaves the test is repeated with a sharper D_B (_tighten): each query leaf's
   triple with the smallest dmin is evaluated exactly, and the largest over the leaf's
   queries of their nearest distance in it bounds D_B without the boxes' slack. Each
   query's nearest component still lies in a kept triple, so the bound below holds as is.
3. The kept (block, data leaf, source leaf) triples are evaluated densely by direct
   differences (no expanded squares: float32 stays accurate for any w), coordinate by
   coordinate from per-leaf tables (one index_select per tree and chunk), each with its
   own max-shift, and merged per query with a log-sum-exp.

Error bound: every dropped component weighs < e^-L times the row's largest one, which is
part of the kept mass, and at most N M are dropped, so the dropped mass is below
N M e^-L of the kept mass. L = log(N M / PRUNE_TOL): density, posterior and field are off
by a relative PRUNE_TOL = 1e-7 at most (float32 rounding is larger). Nothing is
approximated beyond that: far from all components the test still holds (D_B grows with the
distance), so the tails keep their nearest components, max-shifted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: Relative bound on the mass of the pruned components (see the module docstring).
PRUNE_TOL = 1e-7
#: exp arguments are clamped here: below it float32 exp runs many times slower (subnormals),
#: and such terms weigh < 1e-37 of the row's largest.
EXP_FLOOR = -87.0
#: Exponentials per evaluation chunk (cache-friendly, bounds the memory).
CHUNK_ELEMENTS = 1 << 18
#: Points per leaf of the query, data and source trees: 8 (not 4) makes 8x fewer triples to
#: find and merge, and longer inner loops for the dense leaf blocks (Q x Lz x Ls = 512).
LEAF = 8


def morton_order(p: torch.Tensor) -> torch.Tensor:
    """A permutation of the rows of p (n, 2) along a Z-order curve on a 2^16 grid over
    their bounding box: nearby rows end up nearby. -> (n,) int64."""
    if p.shape[0] <= 1:
        return torch.arange(p.shape[0], device=p.device)
    lo = p.min(0).values
    span = (p.max(0).values - lo).max().clamp_min(1e-30)
    q = ((p - lo) / span * 65535).to(torch.int64).clamp_(0, 65535)

    def spread(v):
        v = (v | (v << 8)) & 0x00FF00FF
        v = (v | (v << 4)) & 0x0F0F0F0F
        v = (v | (v << 2)) & 0x33333333
        return (v | (v << 1)) & 0x55555555

    return torch.argsort(spread(q[:, 0]) | (spread(q[:, 1]) << 1))


class _Tree:
    """Points sorted along a Morton curve and padded to size * 2^levels rows by repeating
    the last one (weight 0), so that leaves of size * 2^k consecutive rows form a binary
    tree. pts (n_pad, 2), weight (n_pad,), index (n_pad,) the row each slot came from."""

    def __init__(self, p: torch.Tensor, size: int, order: torch.Tensor | None = None):
        n = p.shape[0]
        self.size = size
        self.levels = max(0, math.ceil(math.log2(max(1, -(-n // size)))))
        order = morton_order(p) if order is None else order
        pad = size * 2**self.levels - n
        self.index = torch.cat([order, order[-1:].expand(pad)]) if pad else order
        self.pts = p[self.index]
        self.weight = torch.ones(self.index.shape[0], dtype=p.dtype, device=p.device)
        if pad:
            self.weight[n:] = 0
        self.n = n

    def nodes(self, depth: int):
        """Boxes of the 2^depth nodes at that depth: lo, hi (k, 2), real (k,) bool."""
        k = 2**depth
        pts = self.pts.reshape(k, -1, 2)
        real = self.weight.reshape(k, -1).amax(1) > 0
        return pts.amin(1), pts.amax(1), real

    def leaf(self, name: str):
        """pts (k, size, 2) or weight (k, size) at the finest level."""
        return getattr(self, name).reshape(
            2**self.levels, self.size, *getattr(self, name).shape[1:]
        )


def _scaled(lo, hi, k_lo, k_hi):
    """Box of k p over k in [k_lo, k_hi] (T,) and p in [lo, hi] (T, 2): lo, hi (T, 2)."""
    corners = torch.stack(
        [k_lo[:, None] * lo, k_lo[:, None] * hi, k_hi[:, None] * lo, k_hi[:, None] * hi]
    )
    return corners.amin(0), corners.amax(0)


def _kept_triples(q: _Tree, a, c, z: _Tree, s: _Tree, reach: float) -> torch.Tensor:
    """(query leaf, data leaf, source leaf) triples that can hold a component within the
    cut-off of one of the leaf's queries (step 2 of the module docstring), found top-down
    over the three trees: (T, 3) int64. a, c (m_pad,) per query slot; reach = 2 w^2 L."""
    depth = max(q.levels, z.levels, s.levels)
    trees = (q, z, s)
    tri = torch.zeros(1, 3, dtype=torch.int64, device=q.pts.device)
    for level in range(depth + 1):
        if level:
            # split every tree that has a level left here (deeper trees split first)
            split = [level > depth - t.levels for t in trees]
            kids = torch.cartesian_prod(*[torch.arange(2 if f else 1) for f in split])
            mult = torch.tensor([2 if f else 1 for f in split])
            tri = (tri[:, None, :] * mult + kids[None]).reshape(-1, 3)
        d = [max(0, level - (depth - t.levels)) for t in trees]
        (q_lo, q_hi, q_real), (z_lo, z_hi, z_real), (s_lo, s_hi, s_real) = (
            t.nodes(k) for t, k in zip(trees, d, strict=True)
        )
        k = 2 ** d[0]
        a_n, c_n = a.reshape(k, -1), c.reshape(k, -1)
        a_lo, a_hi, c_lo, c_hi = a_n.amin(1), a_n.amax(1), c_n.amin(1), c_n.amax(1)
        b, iz, r = tri.unbind(1)
        ok = q_real[b] & z_real[iz] & s_real[r]
        tri, b, iz, r = tri[ok], b[ok], iz[ok], r[ok]
        za_lo, za_hi = _scaled(z_lo[iz], z_hi[iz], a_lo[b], a_hi[b])
        sc_lo, sc_hi = _scaled(s_lo[r], s_hi[r], c_lo[b], c_hi[b])
        m_lo, m_hi = za_lo + sc_lo, za_hi + sc_hi
        x_lo, x_hi = q_lo[b], q_hi[b]
        dmin2 = torch.maximum(m_lo - x_hi, x_lo - m_hi).clamp_min_(0).square_().sum(1)
        dmax2 = torch.maximum(m_hi - x_lo, x_hi - m_lo).square_().sum(1)
        bound = torch.full((k,), math.inf, dtype=dmax2.dtype, device=dmax2.device)
        bound.scatter_reduce_(0, b, dmax2, reduce="amin")
        tri = tri[dmin2 <= bound[b] + reach]
    return tri


def _leaf_dmin2(q: _Tree, a, c, z: _Tree, s: _Tree, tri: torch.Tensor) -> torch.Tensor:
    """dmin(B, P)^2 of leaf triples (T, 3) (step 2 of the module docstring): (T,)."""
    b, iz, r = tri.unbind(1)
    (q_lo, q_hi, _), (z_lo, z_hi, _), (s_lo, s_hi, _) = (t.nodes(t.levels) for t in (q, z, s))
    a_n, c_n = a.reshape(-1, q.size), c.reshape(-1, q.size)
    za_lo, za_hi = _scaled(z_lo[iz], z_hi[iz], a_n.amin(1)[b], a_n.amax(1)[b])
    sc_lo, sc_hi = _scaled(s_lo[r], s_hi[r], c_n.amin(1)[b], c_n.amax(1)[b])
    m_lo, m_hi = za_lo + sc_lo, za_hi + sc_hi
    return torch.maximum(m_lo - q_hi[b], q_lo[b] - m_hi).clamp_min_(0).square_().sum(1)


def _tighten(q: _Tree, a, c, z: _Tree, s: _Tree, tri: torch.Tensor, reach: float):
    """Step 2 again with a sharper D_B: for each query leaf, the exact distances from its
    queries to the components of its triple with the smallest dmin (one small dense pass)
    bound every query's nearest distance, usually far below the box bound min_P dmax.
    Same test, same guarantee: each query's nearest component stays kept. -> (T', 3)."""
    if tri.shape[0] == 0:
        return tri
    dmin2 = _leaf_dmin2(q, a, c, z, s, tri)
    n_leaves = 2**q.levels
    b = tri[:, 0]
    best = torch.full((n_leaves,), math.inf, dtype=dmin2.dtype, device=dmin2.device)
    best.scatter_reduce_(0, b, dmin2, reduce="amin")
    pick = torch.full((n_leaves,), -1, dtype=torch.int64, device=tri.device)
    hit = (dmin2 == best[b]).nonzero().flatten()
    pick[b[hit]] = hit  # any one triple per leaf with the smallest dmin
    has = pick >= 0
    lb = has.nonzero().flatten()
    pb, piz, pr = tri[pick[lb]].unbind(1)
    qt, zt, st = _tables(q, a, c, z, s)
    d2 = _sq_dist(qt[pb], zt[piz], st[pr], q.size)  # (L, Q, Lz, Ls)
    near = d2.flatten(2).amin(2).amax(1)  # per leaf: the largest nearest distance^2
    bound = torch.full((n_leaves,), math.inf, dtype=dmin2.dtype, device=dmin2.device)
    bound[lb] = near
    return tri[dmin2 <= bound[b] + reach]


def _tables(q: _Tree, a, c, z: _Tree, s: _Tree):
    """Per-leaf rows, coordinates apart (structure of arrays), so that one index_select
    per tree fetches a chunk's leaves: queries [x, y, a, c] (Lq, 4 Q), data and source
    [x, y, weight] (L, 3 size)."""

    def tab(t: _Tree, *extra):
        cols = [t.pts[:, 0], t.pts[:, 1], *extra]
        return torch.cat([v.reshape(-1, t.size) for v in cols], 1).contiguous()

    return tab(q, a, c), tab(z, z.weight), tab(s, s.weight)


def _sq_dist(qg, zg, sg, size: int) -> torch.Tensor:
    """|x - a z - c s|^2 for gathered leaf-table rows qg (T, 4 Q), zg (T, 3 Lz),
    sg (T, 3 Ls) (see _tables), coordinate by coordinate: (T, Q, Lz, Ls)."""
    ab, cb = qg[:, 2 * size : 3 * size], qg[:, 3 * size :]  # (T, Q)
    out = None
    for k in (0, 1):
        xb = qg[:, k * size : (k + 1) * size]  # (T, Q)
        zk, sk = zg[:, k * size : (k + 1) * size], sg[:, k * size : (k + 1) * size]
        u = torch.addcmul(xb[:, :, None], ab[:, :, None], zk[:, None, :], value=-1.0)
        v = cb[:, :, None] * sk[:, None, :]  # (T, Q, Ls)
        d = (u[:, :, :, None] - v[:, :, None, :]).square_()
        out = d if out is None else out.add_(d)
    return out


@dataclass(frozen=True)
class Pruned:
    """Per query row: log_mass (m,) log sum_ij exp(exponent_ij), mean_z and mean_s (m, 2)
    the posterior means E[z | x], E[s | x], and, if asked for, post_z (m, N) p(z_i | x)."""

    log_mass: torch.Tensor
    mean_z: torch.Tensor
    mean_s: torch.Tensor
    post_z: torch.Tensor | None


def evaluate(
    *,
    x: torch.Tensor,
    a: torch.Tensor,
    c: torch.Tensor,
    w: float,
    data: torch.Tensor,
    source: torch.Tensor,
    want_posterior: bool = False,
) -> Pruned:
    """The mixture of N(a z_i + c s_j, w^2 I) at the rows of x (m, 2), with per-row a, c
    (m,), data (N, 2), source (M, 2), all in x's dtype; pairs whose weight is below
    PRUNE_TOL of the row's mass in total are skipped (module docstring)."""
    m, n_data, n_src = x.shape[0], data.shape[0], source.shape[0]
    dtype, dev = x.dtype, x.device
    if m and not bool((a != 0).any()):
        # t = 0: every data point sits on the source copy; the sum over i is N times one term
        origin = torch.zeros(1, 2, dtype=dtype, device=dev)
        one = evaluate(x=x, a=torch.ones_like(a), c=c, w=w, data=origin, source=source)
        post = torch.full((m, n_data), 1.0 / n_data, dtype=dtype, device=dev)
        return Pruned(
            log_mass=one.log_mass + math.log(n_data),
            mean_z=data.mean(0).expand(m, 2),
            mean_s=one.mean_s,
            post_z=post if want_posterior else None,
        )
    log_cut = math.log(n_data * n_src / PRUNE_TOL)
    q = _Tree(x, LEAF)
    z = _Tree(data, LEAF)
    s = _Tree(source, LEAF)
    a_q, c_q = a[q.index], c[q.index]
    rows = torch.where(q.weight > 0, q.index, m).reshape(-1, LEAF)  # padding -> spare row m
    reach = 2.0 * w * w * log_cut
    triples = _kept_triples(q, a_q, c_q, z, s, reach)
    triples = _tighten(q, a_q, c_q, z, s, triples, reach)
    qt, zt, st = _tables(q, a_q, c_q, z, s)
    zi = z.index.reshape(-1, LEAF)
    scale = -0.5 / (w * w)
    step = max(1, CHUNK_ELEMENTS // LEAF**3)
    parts = []
    post_parts = []
    for lo in range(0, triples.shape[0], step):
        b, iz, r = triples[lo : lo + step].unbind(1)
        qg, zg, sg = qt.index_select(0, b), zt.index_select(0, iz), st.index_select(0, r)
        e = _sq_dist(qg, zg, sg, LEAF).mul_(scale)  # (T, Q, Lz, Ls)
        top = e.amax((2, 3))  # (T, Q); padding copies a real point of its leaf
        p = e.sub_(top[:, :, None, None]).clamp_min_(EXP_FLOOR).exp_()
        p.mul_((zg[:, 2 * LEAF :, None] * sg[:, None, 2 * LEAF :])[:, None])
        pz = p.sum(3)  # (T, Q, Lz)
        ps = p.sum(2)  # (T, Q, Ls)
        mass = pz.sum(2)
        mz = torch.stack([(pz * zg[:, None, k * LEAF : (k + 1) * LEAF]).sum(2) for k in (0, 1)], 2)
        ms = torch.stack([(ps * sg[:, None, k * LEAF : (k + 1) * LEAF]).sum(2) for k in (0, 1)], 2)
        parts.append((rows[b], top, mass, mz, ms))
        if want_posterior:
            post_parts.append((rows[b], top, pz, zi[iz]))
    return _merge(parts, post_parts, m, n_data, dtype, dev, want_posterior)


def _merge(parts, post_parts, m, n_data, dtype, dev, want_posterior) -> Pruned:
    """Log-sum-exp of the per-triple partial sums into per-row totals."""
    if parts:
        rows, top, mass, mz, ms = (torch.cat([p[i].flatten(0, 1) for p in parts]) for i in range(5))
        mz, ms = mz.reshape(-1, 2), ms.reshape(-1, 2)
    else:
        rows = torch.zeros(0, dtype=torch.int64, device=dev)
        top = mass = torch.zeros(0, dtype=dtype, device=dev)
        mz = ms = torch.zeros(0, 2, dtype=dtype, device=dev)
    best = torch.full((m + 1,), -math.inf, dtype=dtype, device=dev)
    best.scatter_reduce_(0, rows, top, reduce="amax")
    f = torch.exp(top - best[rows])
    tot = torch.zeros(m + 1, 5, dtype=dtype, device=dev)
    tot.index_add_(0, rows, torch.cat([(f * mass)[:, None], f[:, None] * mz, f[:, None] * ms], 1))
    log_mass = best[:m] + torch.log(tot[:m, 0])
    tot = tot[:m]
    inv = 1.0 / tot[:, :1]
    post = None
    if want_posterior:
        post = torch.zeros(m + 1, n_data + 1, dtype=dtype, device=dev)
        for r, top_p, pz, idx in post_parts:
            g = torch.exp(top_p - best[r])
            vals = (g[:, :, None] * pz).flatten()
            rr = r[:, :, None].expand_as(pz).flatten()
            cc = idx[:, None, :].expand_as(pz).flatten()
            post.index_put_((rr, cc), vals, accumulate=True)
        post = post[:m, :n_data] * inv
    return Pruned(
        log_mass=log_mass, mean_z=tot[:, 1:3] * inv, mean_s=tot[:, 3:5] * inv, post_z=post
    )
