"""Make the gallery of ready sessions (File → Gallery, the start screen), headless.

    nice -n 10 .venv/bin/python assets/sessions/make_gallery.py [--only STEM] [--steps N]

Each session is a data set, the path and view settings that show it well, and (trained
with core.training.Trainer, seeded: the same bytes every run on one machine) a small
network with its loss history. The budget (BUDGET: 20,000 steps of batch 512, cosine
decay; minutes per example on a shared CPU) is what it takes for the network to
reproduce its data: tests/test_gallery.py holds each within 1.5x of the floor a perfect
sampler reaches (benchmarks/bench_gallery.py prints the figures). Files stay well under
1 MB: a few hundred points and a 64-wide network.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flowviz import sessions  # noqa: E402
from flowviz.core.frames import typical_point  # noqa: E402
from flowviz.session import Session, settings_of  # noqa: E402

# A capital F written with the mouse: three strokes of (x, y) points, as the brush records.
LETTER_F = [
    [(-1.2, -2.6), (-1.18, -1.6), (-1.2, -0.6), (-1.17, 0.4), (-1.2, 1.4), (-1.18, 2.5)],
    [(-1.18, 2.5), (-0.4, 2.55), (0.4, 2.5), (1.2, 2.56), (1.7, 2.5)],
    [(-1.18, 0.35), (-0.5, 0.4), (0.2, 0.36), (0.9, 0.4)],
]
# A drawn source (a small ring) and a drawn target (a five-pointed star's outline).
RING = [[(0.6 * np.cos(a), 0.6 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 40)]]
STAR = [
    [
        (
            (2.4 if k % 2 == 0 else 1.0) * np.cos(np.pi / 2 + k * np.pi / 5),
            (2.4 if k % 2 == 0 else 1.0) * np.sin(np.pi / 2 + k * np.pi / 5),
        )
        for k in range(11)
    ]
]


def strokes_to_points(strokes, n: int, *, jitter: float, rng) -> np.ndarray:
    """n points sprayed along the polylines (evenly by length), jittered like a brush."""
    segs = [(np.array(a), np.array(b)) for s in strokes for a, b in itertools.pairwise(s)]
    lengths = np.array([np.linalg.norm(b - a) for a, b in segs])
    which = rng.choice(len(segs), size=n, p=lengths / lengths.sum())
    u = rng.random(n)[:, None]
    starts = np.array([segs[i][0] for i in which])
    ends = np.array([segs[i][1] for i in which])
    pts = starts + u * (ends - starts) + jitter * rng.standard_normal((n, 2))
    return pts.astype(np.float32)


def moons(rng) -> np.ndarray:
    from flowviz.core import data

    return data.preset("moons", 500, seed=0).numpy()


def mixture_with_outliers(rng) -> np.ndarray:
    centres = np.array([(-1.6, -1.0), (1.5, -1.2), (0.0, 1.7)])
    blobs = centres[rng.integers(0, 3, 460)] + 0.35 * rng.standard_normal((460, 2))
    outliers = rng.uniform(-3.2, 3.2, (14, 2))
    return np.concatenate([blobs, outliers]).astype(np.float32)


#: The gallery's training settings: 1,500 steps of a 64 x 3 network left every example a
#: blur (1.7-2.7x the floor; two moons one band, the star a ring).
BUDGET = {"width": 64, "depth": 4, "batch_size": 512, "lr": 2e-3, "steps": 20_000}
#: Loss reports (the exact FM loss costs a pass over all pairs of a drawn source): every
#: 100 steps keeps 200 points of loss history and the drawn-source run affordable.
REPORT_EVERY = 100


def train(session: Session):
    """A seeded Trainer run of the session's training settings on its data (and source):
    the trained part of a session file."""
    import dataclasses

    import torch

    from flowviz.core.training import Trainer
    from flowviz.session import train_config

    config = dataclasses.replace(train_config(session, device="cpu"), report_every=REPORT_EVERY)
    source = None if session.source is None else torch.from_numpy(np.array(session.source))
    trainer = Trainer(data=torch.from_numpy(np.array(session.data)), config=config, source=source)
    losses = [(r.step, r.cfm_loss, r.fm_loss) for r in trainer.run()]
    return {"weights": trainer.weights(), "config": config, "step": trainer.step_count,
            "losses": losses}  # fmt: skip


def gallery(steps: int | None = None) -> list[tuple[str, str, str, Session, bool]]:
    """(file stem, title, description, Session, train?) for each gallery entry; steps
    overrides BUDGET's (for a quick try)."""
    rng = np.random.default_rng(7)
    small = {**BUDGET, **({"steps": steps} if steps else {})}
    steps = small["steps"]
    out = []

    data = moons(rng)
    s = Session(data=data, origin="moons", count=len(data), selected=typical_point(data))
    out.append(("two-moons-trained", "Two moons, trained",
                f"The classic: 500 points, a network trained for {steps:,} steps (CondOT).",
                s.patch(training=small, t=0.0), True))  # fmt: skip

    data = strokes_to_points(LETTER_F, 600, jitter=0.09, rng=rng)
    s = Session(data=data, origin="drawn", count=len(data), selected=typical_point(data))
    out.append(("letter-f", "A letter drawn by hand",
                "An F drawn with the brush: watch noise become handwriting.",
                s.patch(training=small, t=0.0, display={"trails": 10}), True))  # fmt: skip

    data = mixture_with_outliers(rng)
    s = Session(data=data, origin="drawn", count=len(data), selected=typical_point(data))
    out.append(("mixture-outliers", "A mixture with outliers",
                "Three Gaussian blobs and 14 stray points: outliers pull a few particles far "
                "away, and the posterior near them is all theirs.",
                s.patch(training=small, t=0.0), True))  # fmt: skip

    target = strokes_to_points(STAR, 240, jitter=0.06, rng=rng)
    source = strokes_to_points(RING, 48, jitter=0.05, rng=rng)
    s = Session(data=target, source=source, origin="drawn", count=len(target),
                selected=typical_point(target))  # fmt: skip
    # Every (source, target) pair is a component of the exact marginal: 48 x 240 keeps
    # the Marginal view's frames affordable; fewer particles too.
    s = s.patch(
        path={"name": "condot", "sigma_min": 0.05},
        training=small,
        t=0.0,
        display={"particles": 1500},
    )
    out.append(("ring-to-star", "A drawn source to a drawn target",
                "A ring of points flows into a star (σ_min = 0.05: the source is drawn, not "
                "Gaussian).", s, True))  # fmt: skip
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, help="training steps (default: BUDGET's)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    p.add_argument("--only", help="make only the session of this file stem")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # as the core tests: two threads spin against each other on 2 cores
    for stem, title, description, session, trained in gallery(args.steps):
        if args.only and stem != args.only:
            continue
        started = time.perf_counter()
        net = train(session) if trained else None
        if net is not None:
            session = session.patch(**settings_of(net["config"], device="auto"))
        path = args.out / f"{stem}{sessions.SUFFIX}"
        sessions.save(path, session, net, title=title, description=description)
        sessions.load(path)  # the file reads back (raises otherwise)
        size = path.stat().st_size
        print(f"{path.name}: {size / 1024:.0f} KB, {time.perf_counter() - started:.1f} s")
        assert size < 1 << 20, f"{path.name} is over 1 MB"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
