"""Particle trajectories to a file: .npy of shape (T, n, 2), or CSV rows (t, id, x, y)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from flowviz.core.atomic import write_atomic

SUFFIXES = (".npy", ".csv")


def save_trajectories(path: str | os.PathLike, traj: np.ndarray, times: np.ndarray) -> None:
    """traj (T, n, 2) at times (T,), atomically: .npy keeps the array (times are t_k = k /
    (T - 1)); .csv has a header and one row per particle and time, 9 significant digits
    (float32 reads back exactly)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path.name}: trajectories are written as .npy or .csv, not {suffix!r}")
    traj = np.asarray(traj, np.float32)
    if traj.ndim != 3 or traj.shape[2] != 2 or len(times) != len(traj):
        raise ValueError(f"trajectories must be (T, n, 2) with T times, got {traj.shape}")

    def write(f):
        if suffix == ".npy":
            np.save(f, traj)
            return
        steps, n = traj.shape[:2]
        rows = np.empty((steps * n, 4), np.float64)
        rows[:, 0] = np.repeat(np.asarray(times, np.float64), n)
        rows[:, 1] = np.tile(np.arange(n), steps)
        rows[:, 2:] = traj.reshape(-1, 2)
        f.write(b"t,id,x,y\n")
        np.savetxt(f, rows, delimiter=",", fmt=("%.6g", "%d", "%.9g", "%.9g"))

    write_atomic(path, write)
