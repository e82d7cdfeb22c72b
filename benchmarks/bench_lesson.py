"""The lesson's trained steps: train time and sample quality; prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_lesson.py [LESSON.json ...]

Walks each lesson (the app's by default) as the window does; for every step that shows
the Learned view, trains what it trains (core.training.Trainer in process, one torch
thread, the step's settings and steps) and reads its samples as the view makes them (its
particle starts, solver and solver steps) and with a fine solver (midpoint 64): the mean
sliced-Wasserstein distance of six sets of N samples (N = the data's size) over the
data's bootstrap floor of N resamples (core.quality, 16 draws). 1.0 is a perfect sampler
of the data; issue 16 asks for <= 1.5. Give the lesson of an older commit
(`git show REV:assets/lessons/flow-matching.json > old.json`) to print before/after.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from flowviz import lessons
from flowviz.core import quality
from flowviz.core.training import Trainer
from flowviz.pictures.field import path_of, starts_of
from flowviz.pictures.learned import learned_trajectories
from flowviz.session import Session, train_config

SETS = 6


def ratio(x: np.ndarray, data: np.ndarray) -> float:
    n = len(data)
    d = np.asarray(data, np.float32)
    swd = np.mean(
        [
            quality.distance(samples=torch.from_numpy(x[i * n : (i + 1) * n]), data=d)
            for i in range(SETS)
        ]
    )
    return float(swd / quality.floor(data=d, n=n, draws=16).mean)


def samples(session: Session, model, solver: str, steps: int) -> np.ndarray:
    s = session.patch(display={"particles": SETS * len(session.data)})

    def velocity(x, t):
        with torch.no_grad():
            return model(x, float(t))

    traj = learned_trajectories(
        velocity=velocity, x0=starts_of(s, path_of(s)), solver=solver, solver_steps=steps,
        display_steps=s.display.steps, reverse=False,
    )  # fmt: skip
    return traj[-1]


def bench(path: str) -> None:
    lesson = lessons.load(path)
    print(f"\n{path}")
    print(f"{'step':>4}  {'settings':<60} {'train s':>7}  {'shown':>16}  {'midpoint 64':>11}")
    s, model, trained = Session(), None, ""
    display = lesson.base_display(s)
    for k, step in enumerate(lesson.steps, 1):
        s = step.apply_to(s, display=display)
        kinds = [a.kind for a in step.actions]
        took = ""
        if "train" in kinds:
            config = train_config(s, device="cpu")
            t0 = time.perf_counter()
            trainer = Trainer(data=torch.from_numpy(np.array(s.data, np.float32)), config=config)
            for _ in range(config.steps):
                trainer.step()
            took = f"{time.perf_counter() - t0:.1f}"
            model = trainer.model.eval().requires_grad_(False)
            c = config
            trained = (
                f"{c.steps} steps, width {c.model.width}, lr {c.lr:g}, batch {c.batch_size}, "
                f"{c.coupling}"
            )
        if model is None or "learned" not in s.views:
            continue
        data = np.array(s.data, np.float64)
        shown = ratio(samples(s, model, s.learned.solver, s.learned.steps), data)
        fine = ratio(samples(s, model, "midpoint", 64), data)
        label = f"{s.learned.solver} {s.learned.steps}"
        print(f"{k:>4}  {trained:<60} {took:>7}  {label:>9} {shown:5.2f}x  {fine:10.2f}x")


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    for path in argv or [str(lessons.DEFAULT)]:
        bench(path)


if __name__ == "__main__":
    main(sys.argv[1:])
