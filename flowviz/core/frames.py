"""Frame data for the views and the exporter: grids, arrows, streamlines, particles.

Everything here is numpy in, numpy out (float32), so a frame computed in a worker thread
can be handed to the screen or to a video writer unchanged. No torch import: the window
draws with this module before torch has loaded (the torch-backed fields are in exact.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from flowviz.core.paths import GaussianPath

#: The square [-LIM, LIM]^2 every view shows at least (presets fit in ±3); a view wider or
#: taller than square shows, and its grids cover, more along its longer side.
LIM = 3.6
HUES = 12

FieldFn = Callable[[np.ndarray, float], np.ndarray]
HeatFn = Callable[[np.ndarray, float], np.ndarray]


#: A view of any shape gets at most this many field grid nodes per node of a square view
#: (res^2): the exact marginal is computed on every node, so a very wide view gets coarser.
#: Three views at 16:9 (two above, one below) are about 1.7 times as wide as tall.
MAX_NODES = 1.8


def view_extent(width: float, height: float, lim: float = LIM) -> tuple[float, float]:
    """Half-widths (x, y) of what a width x height pixel view shows of the plane when the
    square [-lim, lim]^2 is fitted into it with square pixels (the default camera): the
    longer side shows more."""
    if width <= 0 or height <= 0:
        return (lim, lim)
    a = width / height
    return (lim * max(a, 1.0), lim * max(1.0 / a, 1.0))


@dataclass(frozen=True)
class Lattice:
    """nx x ny square cells of side `cell` centred on the origin: where a field layer is
    evaluated (arrow tails, heat pixels)."""

    nx: int
    ny: int
    cell: float

    @property
    def half(self) -> tuple[float, float]:
        """Half-widths (x, y) of the rectangle the cells tile."""
        return (self.nx * self.cell / 2, self.ny * self.cell / 2)

    def points(self) -> np.ndarray:
        """Cell centres, row-major (y outer, x inner): (ny * nx, 2). Reshaped to (ny, nx)
        the values are an image indexed [iy, ix]."""
        cx = (np.arange(self.nx, dtype=np.float64) + 0.5 - self.nx / 2) * self.cell
        cy = (np.arange(self.ny, dtype=np.float64) + 0.5 - self.ny / 2) * self.cell
        gx, gy = np.meshgrid(cx, cy, indexing="xy")
        return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


def lattice(res: int, extent: tuple[float, float] = (LIM, LIM), lim: float = LIM) -> Lattice:
    """The cells of a square view's spacing (res per 2 lim) that cover the rectangle
    +-extent, so a wider view gets more arrow columns, not stretched ones. The counts keep
    res's parity where that stays within MAX_NODES * res^2 nodes (the square view's nodes
    stay where they are; the outer cells end within half a cell of the rectangle's edges),
    else the cells that fit inside it; past the cap the cells grow instead."""
    cell = 2 * lim / res
    cap = MAX_NODES * res * res
    same_parity = [max(1, res + 2 * round((2 * h / cell - res) / 2)) for h in extent]
    inside = [max(1, int(2 * h / cell + 1e-9)) for h in extent]
    for nx, ny in (same_parity, inside):
        if nx * ny <= cap:
            return Lattice(nx, ny, cell)
    hx, hy = extent
    cell = math.sqrt(4 * hx * hy / cap)
    nx, ny = (max(1, int(2 * h / cell)) for h in extent)
    return Lattice(nx, ny, cell)


def grid(res: int, lim: float = LIM) -> np.ndarray:
    """res x res cell centres of [-lim, lim]^2 (Lattice.points of the square)."""
    return lattice(res, (lim, lim), lim).points()


def conditional_particles(
    *, z: np.ndarray, path: GaussianPath, eps: np.ndarray, start: np.ndarray | None, t: float
) -> np.ndarray:
    """x_t = alpha_t z + b_t s + sigma_min eps for conditional particles: straight lines for
    CondOT. eps (n, 2) noise; start (n, 2) drawn-source points s, or None for a Gaussian
    source (then x_t = alpha_t z + beta_t eps). -> (n, 2)."""
    s = path.schedule(float(t))
    alpha, beta = float(s.alpha), float(s.beta)
    z = np.asarray(z, np.float32).reshape(1, 2)
    if start is None:
        return (alpha * z + beta * eps).astype(np.float32)
    sig = path.sigma_min
    b = (beta - sig) / (1.0 - sig)
    return (alpha * z + b * start + sig * eps).astype(np.float32)


def gaussian_rings(*, z: np.ndarray, path: GaussianPath, t: float, k: int = 96) -> np.ndarray:
    """Mean alpha_t z and 1- and 2-sigma circles of p_t(x|z) = N(alpha_t z, beta_t^2 I):
    (2 (k + 1), 2) with a NaN row between the circles (one 'finite'-connected curve)."""
    s = path.schedule(float(t))
    centre = float(s.alpha) * np.asarray(z, np.float32)
    a = np.linspace(0, 2 * math.pi, k, dtype=np.float32)
    unit = np.stack([np.cos(a), np.sin(a)], 1)
    gap = np.full((1, 2), np.nan, np.float32)
    beta = float(s.beta)
    return np.concatenate([centre + beta * unit, gap, centre + 2 * beta * unit, gap])


# ---------------------------------------------------------------- field frames


@dataclass(frozen=True)
class FrameSpec:
    """What a field frame contains: arrow and heatmap resolution (cells per 2 LIM),
    streamlines, and the extent it covers (half-widths: view_extent of the view's shape)."""

    arrow_res: int = 21
    heat_res: int = 72
    heat: str = "density"  # "density" (the view's heat function), "speed", or "off"
    streamlines: bool = False
    extent: tuple[float, float] = (LIM, LIM)

    def arrow_grid(self) -> Lattice:
        return lattice(self.arrow_res, self.extent)

    def heat_grid(self) -> Lattice:
        return lattice(self.heat_res, self.extent)


@dataclass(frozen=True)
class FieldFrame:
    """One time step of a field view. tails/vectors (m, 2): the field on the arrow grid
    (arrows: its Lattice, whose cell sizes the arrows); heat (ny, nx) float32 in [0, 1] on
    the heat_grid Lattice, or None; lines (k, 2) streamline polyline with NaN breaks."""

    t: float
    tails: np.ndarray
    vectors: np.ndarray
    heat: np.ndarray | None
    lines: np.ndarray | None
    arrows: Lattice
    heat_grid: Lattice


def field_frame(
    *, field_fn: FieldFn, heat_fn: HeatFn | None, t: float, spec: FrameSpec
) -> FieldFrame:
    """Evaluate a field (and its heat layer) for one frame; pure, runs in a worker."""
    arrows, fine = spec.arrow_grid(), spec.heat_grid()
    tails = arrows.points()
    vectors = np.asarray(field_fn(tails, t), np.float32)
    heat = lines = None
    points = fine.points() if spec.heat != "off" or spec.streamlines else None
    v_fine = None
    if spec.heat == "speed" or spec.streamlines:
        v_fine = np.asarray(field_fn(points, t), np.float32)
    if spec.heat == "speed":
        heat = normalise(np.linalg.norm(v_fine, axis=1), fine, gamma=1.0)
    elif spec.heat == "density" and heat_fn is not None:
        heat = normalise(np.asarray(heat_fn(points, t)), fine, gamma=0.5)
    if spec.streamlines:
        lines = streamlines(v_fine.reshape(fine.ny, fine.nx, 2), fine)
    return FieldFrame(
        t=float(t),
        tails=tails,
        vectors=vectors,
        heat=heat,
        lines=lines,
        arrows=arrows,
        heat_grid=fine,
    )


@dataclass(frozen=True)
class ViewFrame:
    """Everything one view draws at time t, for the window and the exporter alike.

    field: the field frame (arrows, heat, streamlines) or None, drawn as `arrows` says
    ("length", "colour", "streamlines", "off");
    particles (n, 2) at t and their starts (n, 2) (a particle's colour is the angle of its
    start); trails: polyline rows with NaN breaks, or None; data (N, 2) and source (M, 2)
    or None: the points shown (empty when hidden); rings / z: the conditional path's 1- and
    2-sigma circles and its data point (the Conditional view), else None; heat_label: what
    the heat layer's colour bar says (title, low, high; HEAT_LABELS)."""

    t: float
    field: FieldFrame | None
    arrows: str
    particles: np.ndarray
    starts: np.ndarray
    trails: np.ndarray | None
    data: np.ndarray
    source: np.ndarray | None
    rings: np.ndarray | None = None
    z: np.ndarray | None = None
    heat_label: tuple[str, str, str] = ("", "low", "high")


#: What the heat layer's colour bar says: (title, low end, high end), rich text. Density
#: and speed are normalised per frame (gamma 0.5 lifts a density's faint tails).
HEAT_LABELS = {
    "density": ("√ density", "0", "max"),
    "conditional": ("√ density p<sub>t</sub>(x | z)", "0", "max"),
    "marginal": ("√ density p<sub>t</sub>(x)", "0", "max"),
    "speed": ("speed |u|", "0", "max"),
    "error": ("error |v<sub>θ</sub> − u<sub>t</sub>|", "exact", "≥ |u<sub>t</sub>|"),
}


def to_pairs(rows: np.ndarray) -> np.ndarray:
    """Polyline rows (k, 2) with NaN breaks -> segment pairs (2 (k - 1), 2); the segments
    touching a NaN row stay NaN (a drawer drops them)."""
    rows = np.asarray(rows, np.float32)
    if len(rows) < 2:
        return np.zeros((0, 2), np.float32)
    return np.stack([rows[:-1], rows[1:]], 1).reshape(-1, 2)


def normalise(values: np.ndarray, on: Lattice, *, gamma: float) -> np.ndarray:
    """(ny*nx,) non-negative values on a Lattice -> (ny, nx) float32 image in [0, 1];
    gamma < 1 lifts the faint tails of a peaked density so the whole path stays visible."""
    v = np.nan_to_num(np.abs(values.astype(np.float64)), nan=0.0, posinf=0.0)
    top = v.max()
    img = (v / top) ** gamma if top > 0 else v
    return np.ascontiguousarray(img.reshape(on.ny, on.nx), dtype=np.float32)


def arrow_segments(
    *, tails: np.ndarray, vectors: np.ndarray, cell: float, by: str = "length"
) -> tuple[np.ndarray, float]:
    """Arrow shafts and heads as segment pairs for one connect='pairs' curve.

    Each arrow is 3 segments (6 rows): tail->tip, tip->left barb, tip->right barb. by
    "length": tip = tail + scale * v with one scale per frame (the 95th-percentile speed
    fills 0.9 of a cell; faster arrows are capped at 2 cells so the near-t=1 spikes stay
    readable); by "colour": every arrow 0.8 cell long, colour carries the magnitude.
    Returns (segments (6m, 2), scale); with by="colour" scale is 0.
    """
    mag = np.linalg.norm(vectors, axis=1)
    if by == "length":
        ref = float(np.percentile(mag, 95)) if len(mag) else 0.0
        scale = 0.9 * cell / ref if ref > 1e-12 else 0.0
        shaft = vectors * scale
        cap = 2.0 * cell
        long = np.linalg.norm(shaft, axis=1) > cap
        shaft[long] *= (cap / np.linalg.norm(shaft[long], axis=1))[:, None]
    else:
        scale = 0.0
        shaft = vectors / np.maximum(mag, 1e-12)[:, None] * (0.8 * cell)
    tips = tails + shaft
    length = np.linalg.norm(shaft, axis=1, keepdims=True)
    head = np.minimum(0.35 * length, 0.3 * cell)
    back = -shaft / np.maximum(length, 1e-12)
    normal = np.stack([-back[:, 1], back[:, 0]], 1)
    left = tips + head * (0.87 * back + 0.5 * normal)
    right = tips + head * (0.87 * back - 0.5 * normal)
    seg = np.stack([tails, tips, tips, left, tips, right], 1).reshape(-1, 2)
    return seg.astype(np.float32), scale


def magnitude_classes(vectors: np.ndarray, k: int) -> np.ndarray:
    """Colour class 0..k-1 per arrow by speed, relative to the frame's 95th percentile."""
    mag = np.linalg.norm(vectors, axis=1)
    ref = max(float(np.percentile(mag, 95)) if len(mag) else 0.0, 1e-12)
    return np.clip((mag / ref * (k - 1)).round(), 0, k - 1).astype(np.int32)


def streamlines(v: np.ndarray, on: Lattice, *, seeds: int = 14, steps: int = 24) -> np.ndarray:
    """Streamlines of a gridded field v (ny, nx, 2) [iy, ix] on the Lattice `on`, from a
    lattice of seeds per 2 LIM over the same rectangle, traced with normalised steps
    (direction only) through bilinear interpolation.
    -> (m (steps + 2), 2) polyline rows for m seeds, NaN rows between lines."""
    start = lattice(seeds, on.half)
    pts = start.points().astype(np.float64)
    h = start.cell / steps * 1.6
    out = np.full((steps + 2, len(pts), 2), np.nan, np.float32)
    out[0] = pts
    for i in range(steps):
        d = _bilinear(v, pts, on)
        n = np.linalg.norm(d, axis=1, keepdims=True)
        pts = pts + h * d / np.maximum(n, 1e-12)
        out[i + 1] = pts
    return out.transpose(1, 0, 2).reshape(-1, 2)


def _bilinear(v: np.ndarray, pts: np.ndarray, on: Lattice) -> np.ndarray:
    top = np.array([on.nx, on.ny]) - 1.000001
    f = ((pts + np.array(on.half)) / on.cell - 0.5).clip(0, top)
    i0 = f.astype(np.int64)
    w = f - i0
    ix, iy = i0[:, 0], i0[:, 1]
    wx, wy = w[:, :1], w[:, 1:]
    return (
        v[iy, ix] * (1 - wx) * (1 - wy)
        + v[iy, ix + 1] * wx * (1 - wy)
        + v[iy + 1, ix] * (1 - wx) * wy
        + v[iy + 1, ix + 1] * wx * wy
    )


# ---------------------------------------------------------------- particles


def hue_classes(starts: np.ndarray, k: int = HUES) -> np.ndarray:
    """Hue class per particle from the angle of its start position around the starts'
    centre, so neighbours at the start share a colour and a student can follow them."""
    c = starts - starts.mean(0, keepdims=True)
    angle = np.arctan2(c[:, 1], c[:, 0])
    return (((angle + math.pi) / (2 * math.pi) * k).astype(np.int32)) % k


def particle_starts(
    *,
    n: int,
    reverse: bool = False,
    data: np.ndarray | None = None,
    source: np.ndarray | None,
    sigma_min: float,
    seed: int = 0,
) -> np.ndarray:
    """Where particles (and samples) start: forward at t = 0 from the source (N(0, I), or
    drawn source points plus sigma_min noise); reversed at t = 1 from the data points (plus
    sigma_min noise). The one rule for the views, the exporter and the sample-quality
    readout. A fixed seed keeps the same particles when only the field changes.
    -> (n, 2) float32."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((n, 2))
    base = data if reverse else source
    if base is None:
        if reverse:
            raise ValueError("reversed particles start at the data: give data")
        return eps.astype(np.float32)
    if not len(base):
        raise ValueError("no points to start particles from")
    return (base[rng.integers(0, len(base), n)] + sigma_min * eps).astype(np.float32)


def at_time(traj: np.ndarray, t: float) -> np.ndarray:
    """Positions at time t, linear between the steps of traj (T, n, 2) -> (n, 2)."""
    steps = traj.shape[0] - 1
    f = min(max(t, 0.0), 1.0) * steps
    k = min(int(f), steps - 1)
    w = np.float32(f - k)
    return traj[k] + w * (traj[k + 1] - traj[k])


def trail_lines(traj: np.ndarray, t: float, k: int, *, reverse: bool = False) -> np.ndarray:
    """Each particle's last k steps before t in the direction of play (after t when the
    flow runs backwards): (n (k + 2), 2) polyline rows with a NaN row after each."""
    steps = traj.shape[0] - 1
    f = min(max(t, 0.0), 1.0) * steps
    if reverse:
        lo = min(math.ceil(f), steps)
        seg = traj[lo : min(steps, lo + k) + 1][::-1]
    else:
        hi = math.floor(f)
        seg = traj[max(0, hi - k) : hi + 1]
    now = at_time(traj, t)[None]
    gap = np.full((1, traj.shape[1], 2), np.nan, np.float32)
    lines = np.concatenate([seg, now, gap], 0)
    return np.ascontiguousarray(lines.transpose(1, 0, 2).reshape(-1, 2))


# ---------------------------------------------------------------- drawing helpers


def typical_point(points: np.ndarray) -> int:
    """Index of a data point at the 70th percentile of distance from the mean: a typical z,
    on the shape rather than hidden in its middle, and not an outlier (-1 if none)."""
    if not len(points):
        return -1
    d = np.linalg.norm(points - points.mean(0), axis=1)
    return int(np.argmin(np.abs(d - np.percentile(d, 70))))


def spray(
    *,
    start: np.ndarray,
    end: np.ndarray,
    count: int,
    radius: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """count points uniformly in discs of the given radius centred along start->end: the
    brush's output for one time slice, spread over the path the mouse took. -> (count, 2)."""
    along = rng.uniform(0, 1, (count, 1))
    centre = start + along * (end - start)
    r = radius * np.sqrt(rng.uniform(0, 1, (count, 1)))
    a = rng.uniform(0, 2 * math.pi, (count, 1))
    return (centre + r * np.concatenate([np.cos(a), np.sin(a)], 1)).astype(np.float32)


def image_points(
    gray: np.ndarray, *, n: int, rng: np.random.Generator, half_width: float = 2.6
) -> np.ndarray:
    """Sample n points from the dark pixels of a grayscale image (h, w) in [0, 1] (0 black),
    with probability growing with darkness, jittered within the pixel, and scaled so the
    longer side spans [-half_width, half_width] with y up. ValueError if nothing is dark."""
    gray = np.asarray(gray, np.float64)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError("the image has no pixels")
    dark = np.clip(1.0 - gray, 0, 1)
    dark[dark < 0.35] = 0.0  # paper and light antialiasing are background
    total = dark.sum()
    if total <= 0:
        raise ValueError("the image has no dark pixels to sample points from")
    idx = rng.choice(dark.size, size=n, p=(dark / total).ravel())
    h, w = gray.shape
    iy, ix = np.divmod(idx, w)
    x = ix + rng.uniform(0, 1, n)
    y = iy + rng.uniform(0, 1, n)
    s = 2 * half_width / max(h, w)
    pts = np.stack([(x - w / 2) * s, (h / 2 - y) * s], 1)
    return pts.astype(np.float32)
