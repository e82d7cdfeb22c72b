"""Point sets: presets, and CSV / .npy files with validation.

Points are float32 torch tensors shaped (n, 2), scaled to sit inside about [-3, 3]^2 so
they share a picture with the N(0, I) source.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

MAX_POINTS = 1_000_000
PRESETS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {}


def _preset(name: str):
    def register(fn):
        PRESETS[name] = fn
        return fn

    return register


@_preset("moons")
def _moons(n, rng):
    n_top = n // 2
    a = rng.uniform(0, math.pi, n_top)
    b = rng.uniform(0, math.pi, n - n_top)
    top = np.stack([np.cos(a), np.sin(a)], 1)
    bottom = np.stack([1 - np.cos(b), 0.5 - np.sin(b)], 1)
    pts = np.concatenate([top, bottom]) + rng.normal(0, 0.06, (n, 2))
    return (pts - [0.5, 0.25]) * 1.6


@_preset("eight-gaussians")
def _eight_gaussians(n, rng):
    k = rng.integers(0, 8, n)
    angle = k * (2 * math.pi / 8)
    centres = 2.2 * np.stack([np.cos(angle), np.sin(angle)], 1)
    return centres + rng.normal(0, 0.18, (n, 2))


@_preset("checkerboard")
def _checkerboard(n, rng):
    x = rng.uniform(-2, 2, n)
    y = rng.uniform(0, 1, n) + rng.integers(-2, 2, n)
    y = y + (np.floor(x) % 2)
    y = np.where(y >= 2, y - 4, y)
    return np.stack([x, y], 1) * 1.2


@_preset("spirals")
def _spirals(n, rng):
    r = np.sqrt(rng.uniform(0, 1, n)) * 3 * math.pi
    arm = rng.integers(0, 2, n) * math.pi
    pts = np.stack([np.cos(r + arm) * r, np.sin(r + arm) * r], 1) / (math.pi * 1.1)
    return pts + rng.normal(0, 0.06, (n, 2))


@_preset("circles")
def _circles(n, rng):
    ring = rng.integers(0, 2, n)
    radius = np.where(ring == 0, 2.4, 1.1)
    a = rng.uniform(0, 2 * math.pi, n)
    pts = radius[:, None] * np.stack([np.cos(a), np.sin(a)], 1)
    return pts + rng.normal(0, 0.07, (n, 2))


@_preset("swiss-roll")
def _swiss_roll(n, rng):
    s = 1.5 * math.pi * (1 + 2 * rng.uniform(0, 1, n))
    pts = np.stack([s * np.cos(s), s * np.sin(s)], 1) / 5.0
    return pts + rng.normal(0, 0.08, (n, 2))


def preset(name: str, n: int = 1000, seed: int = 0) -> torch.Tensor:
    """n points of a named preset (see PRESETS): (n, 2) float32, reproducible per seed."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if not 1 <= n <= MAX_POINTS:
        raise ValueError(f"point count must be between 1 and {MAX_POINTS}, got {n}")
    rng = np.random.default_rng(seed)
    return torch.from_numpy(PRESETS[name](n, rng).astype(np.float32))


def validate(points, *, origin: str = "points") -> torch.Tensor:
    """Checked (n, 2) float32 tensor, or ValueError naming origin and the problem."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{origin}: values are not numeric ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{origin}: expected two columns (x, y), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{origin}: contains no points")
    if arr.shape[0] > MAX_POINTS:
        raise ValueError(f"{origin}: {arr.shape[0]} points is more than the limit {MAX_POINTS}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{origin}: row {row + 1} is not finite ({arr[row].tolist()})")
    if np.abs(arr).max() > 1e6:
        raise ValueError(f"{origin}: coordinates beyond ±1e6 are not a drawable data set")
    return torch.from_numpy(arr.astype(np.float32))


def load_points(path: str | os.PathLike) -> torch.Tensor:
    """Read a .csv (x,y per line, optional header) or .npy point set; ValueError if bad."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"{name}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{name}: not a readable .npy array ({exc})") from None
        if arr.dtype.kind not in "iuf":
            raise ValueError(f"{name}: values are not numeric (dtype {arr.dtype})")
        return validate(arr, origin=name)
    if suffix in (".csv", ".txt"):
        return validate(_read_csv(path), origin=name)
    raise ValueError(f"{name}: unsupported file type {suffix!r}; use .csv or .npy")


def _read_csv(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: not a text file") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.replace(";", ",").split(",")]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if not rows and not any(_is_number(c) for c in cells):
                continue  # a header line
            raise ValueError(f"{path.name}: line {number} is not numeric: {line[:60]!r}") from None
        if len(cells) != 2:
            raise ValueError(f"{path.name}: line {number} has {len(cells)} columns, expected 2")
        if len(rows) > MAX_POINTS:
            raise ValueError(f"{path.name}: more than the limit of {MAX_POINTS} points")
    if not rows:
        raise ValueError(f"{path.name}: contains no points")
    return np.asarray(rows)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def save_points(path: str | os.PathLike, points: torch.Tensor | np.ndarray) -> None:
    """Write (n, 2) points as .csv or .npy, atomically (a crash leaves the old file)."""
    path = Path(path)
    arr = validate(points, origin=path.name).numpy()
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npy", ".txt"):
        raise ValueError(f"{path.name}: unsupported file type {suffix!r}; use .csv or .npy")

    def write(f):
        if suffix == ".npy":
            np.save(f, arr)
        else:
            f.write(b"x,y\n")
            # 9 significant digits: every float32 reads back bit for bit.
            np.savetxt(f, arr, delimiter=",", fmt="%.9g")

    atomic_write(path, write)


def atomic_write(path: Path, write: Callable) -> None:
    """Call write(binary file) on a temporary file beside path, then rename it over path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
