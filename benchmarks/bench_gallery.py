"""How well each gallery network reproduces its data: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_gallery.py [--samples 4000] [--draws 16] [FILE ...]

For every assets/sessions/*.flowviz with a trained network (or the files named): samples
from t = 0 to 1 with a fine solver (midpoint, 64 steps, written here, not the app's
solver), in sets of N (the data's size, ~4000 samples in all), and the mean sliced
Wasserstein distance (numpy, 1024 random directions) of a set to the data, against the
floor: the same distance for sets of the exact flow's end point, the data convolved with
N(0, sigma_min^2 I), drawn `draws` times (mean +- standard deviation of one set printed).
The ratio is the gallery's figure (issue 16: goal <= 1.5x); the last column divides by
the old floor (bootstrap resamples of the data, sigma_min ignored).

    .venv/bin/python benchmarks/bench_gallery.py --floor

The window's floor (core.quality) before and after issue 16, on moons: the seed-to-seed
spread of the floor estimate (old: 4 bootstrap draws, sigma_min ignored; new: 48 draws of
the blurred end point), and what a perfect sampler (draws of the data convolved with
N(0, sigma_min^2 I)) reads against each, over 12 seeds, beside the band the window shows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def swd(a: np.ndarray, b: np.ndarray, *, projections: int = 1024, seed: int = 12345) -> float:
    """SW_2 between (n, 2) and (m, 2): root mean over directions of the squared 1D W_2 of
    the projected quantile functions on a common grid."""
    rng = np.random.default_rng(seed)
    ang = rng.uniform(0, np.pi, projections)
    theta = np.stack([np.cos(ang), np.sin(ang)])
    pa = np.sort(np.asarray(a, np.float64) @ theta, axis=0)
    pb = np.sort(np.asarray(b, np.float64) @ theta, axis=0)
    k = max(len(pa), len(pb))
    q = (np.arange(k) + 0.5) / k
    qa = pa[np.minimum((q * len(pa)).astype(int), len(pa) - 1)]
    qb = pb[np.minimum((q * len(pb)).astype(int), len(pb) - 1)]
    return float(np.sqrt(np.mean((qa - qb) ** 2)))


def endpoint_samples(data: np.ndarray, sigma_min: float, n: int, rng) -> np.ndarray:
    """n draws of the exact flow's t = 1 distribution: data convolved with N(0, sigma^2 I)."""
    return data[rng.integers(0, len(data), n)] + sigma_min * rng.standard_normal((n, 2))


def fine_samples(trained: dict, session, n: int, *, steps: int = 64, seed: int = 1) -> np.ndarray:
    """Midpoint rule with `steps` steps from x0 (N(0, I), or source points + sigma_min
    noise) through the stored network."""
    import torch

    from flowviz.core.inference import InferenceField

    field = InferenceField(trained["weights"], trained["config"].model)
    rng = np.random.default_rng(seed)
    sigma = session.path.sigma_min
    if session.source is None:
        x = rng.standard_normal((n, 2))
    else:
        src = np.asarray(session.source, np.float64)
        x = src[rng.integers(0, len(src), n)] + sigma * rng.standard_normal((n, 2))
    x = torch.from_numpy(x.astype(np.float32))
    h = 1.0 / steps
    for k in range(steps):
        t = k * h
        mid = x + 0.5 * h * field.velocity(x, t)
        x = x + h * field.velocity(mid, t + 0.5 * h)
    return x.numpy().astype(np.float64)


def measure(path: Path, *, samples: int, draws: int, size: int | None = None) -> dict:
    """SWD ratio of one session: sets of `size` samples (default N, the data's size; ~
    `samples` in all), the mean SWD of the network's sets over the mean of `draws`
    perfect sets."""
    from flowviz import sessions

    session, trained = sessions.load(path)
    data = np.asarray(session.data, np.float64)
    n, sigma = size or len(data), session.path.sigma_min
    sets = max(1, round(samples / n))
    rng = np.random.default_rng(0)
    floors = np.array([swd(endpoint_samples(data, sigma, n, rng), data) for _ in range(draws)])
    boot0 = np.mean([swd(endpoint_samples(data, 0.0, n, rng), data) for _ in range(draws)])
    out = {"name": path.stem, "sigma_min": sigma, "floor": floors.mean(), "spread": floors.std()}
    out["floor_sigma0"] = boot0
    if trained is None:
        return out
    x = fine_samples(trained, session, n * sets)
    out["swd"] = np.mean([swd(x[k * n : (k + 1) * n], data) for k in range(sets)])
    out["ratio"] = out["swd"] / out["floor"]
    c = trained["config"]
    out["budget"] = f"{c.model.width}x{c.model.depth} {trained['step']} steps b{c.batch_size}"
    return out


def _perfect_reads(d: np.ndarray, sigma: float, floors, sets: int) -> np.ndarray:
    """Readouts (score / floor k) of perfect samplers, one seed per floor."""
    from flowviz.core import quality as q

    n = q.sample_count(len(d))
    return np.array([
        q.score(samples=q.endpoint(data=d, n=n * sets, sigma_min=sigma, seed=100 + k),
                data=d, sets=sets) / f
        for k, f in enumerate(floors)
    ])  # fmt: skip


def floor_figures(seeds: int = 12) -> None:
    """Old and new floor: spread of the estimate, and a perfect sampler's readout."""
    from flowviz.core import data as datasets
    from flowviz.core import quality as q

    print(f"{'moons':>5s} {'σ_min':>5s}  floor spread old / new   perfect readout old / new (band)")
    for n_data in (500, 1000):
        d = datasets.preset("moons", n_data, seed=0).numpy()
        for sigma in (0.0, 0.2, 0.5):
            old = np.array([q.floor(data=d, draws=4, seed=k).mean for k in range(seeds)])
            new = [q.floor(data=d, sigma_min=sigma, seed=k) for k in range(seeds)]
            mean = np.array([f.mean for f in new])
            r_old = _perfect_reads(d, sigma, old, 4)
            r_new = _perfect_reads(d, sigma, mean, q.set_count(n_data))
            spread = f"{old.std() / old.mean():8.1%} / {mean.std() / mean.mean():5.1%}"
            reads = (
                f"{r_old.mean():.2f} ± {r_old.std():.2f} / {r_new.mean():.2f} ± {r_new.std():.2f}"
            )
            print(f"{n_data:5d} {sigma:5.2f}  {spread}   {reads} (± {new[0].band():.2f}, two sd)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--samples", type=int, default=4000, help="samples per session, ~")
    p.add_argument("--draws", type=int, default=16)
    p.add_argument("--size", type=int, help="samples per set (default: the data's size)")
    p.add_argument("--floor", action="store_true", help="the window's floor, old and new")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if args.floor:
        floor_figures()
        return 0
    files = args.files or sorted((ROOT / "assets" / "sessions").glob("*.flowviz"))
    print(f"{'session':20s} {'σ_min':>5s} {'SWD':>7s} {'floor':>15s} {'ratio':>6s}  network")
    for f in files:
        r = measure(f, samples=args.samples, draws=args.draws, size=args.size)
        fl = f"{r['floor']:.4f}±{r['spread']:.4f}"
        if "swd" in r:
            old = r["swd"] / r["floor_sigma0"]
            print(f"{r['name']:20s} {r['sigma_min']:5.2f} {r['swd']:7.4f} {fl:>15s} "
                  f"{r['ratio']:5.2f}x  {r['budget']}  (vs σ=0 bootstrap: {old:.2f}x)")  # fmt: skip
        else:
            print(f"{r['name']:20s} {r['sigma_min']:5.2f} {'-':>7s} {fl:>15s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
