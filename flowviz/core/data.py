"""Point sets: presets, and CSV / .npy files with validation.

Points are float32 torch tensors shaped (n, 2), scaled to sit inside about [-3, 3]^2 so
they share a picture with the N(0, I) source.
"""

from __future__ import annotations

import codecs
import csv
import math
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from flowviz.core import limits, npy
from flowviz.core.atomic import write_atomic

MAX_POINTS = limits.MAX_POINTS
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
    if torch.is_tensor(points):
        if points.is_complex():
            raise ValueError(f"{origin}: values are complex numbers, not coordinates")
        points = points.detach().cpu()
        arr = (points.to(torch.float64) if points.is_floating_point() else points).numpy()
    else:
        try:
            arr = np.asarray(points)
        except (TypeError, ValueError) as exc:  # e.g. rows of different lengths
            raise ValueError(f"{origin}: values are not numeric ({_first_line(exc)})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{origin}: values are complex numbers, not coordinates")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{origin}: values are not numeric (dtype {arr.dtype})")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{origin}: {_shape_problem(arr.shape)}")
    if arr.shape[0] == 0:
        raise ValueError(f"{origin}: contains no points")
    if arr.shape[0] > MAX_POINTS:
        raise ValueError(f"{origin}: {arr.shape[0]} points is more than the limit {MAX_POINTS}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{origin}: row {row + 1} is not finite ({arr[row].tolist()})")
    far = np.abs(arr).max(axis=1) > limits.MAX_COORDINATE
    if far.any():
        row = int(np.argmax(far))
        raise ValueError(
            f"{origin}: row {row + 1} ({arr[row].tolist()}) lies beyond ±1e6, "
            "not a drawable data set"
        )
    return torch.from_numpy(arr.astype(np.float32))


def _shape_problem(shape: tuple) -> str:
    hint = "; transpose it" if len(shape) == 2 and shape[0] == 2 else ""
    return f"expected two columns (x, y), got shape {tuple(shape)}{hint}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def read_error(name: str, exc: OSError) -> ValueError:
    """A one-line ValueError for an OSError met while reading the file called name."""
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return ValueError(f"{name}: no such file")
    if isinstance(exc, IsADirectoryError):
        return ValueError(f"{name}: is a folder, not a file")
    if isinstance(exc, PermissionError):
        return ValueError(f"{name}: cannot be read (permission denied)")
    return ValueError(f"{name}: cannot be read ({exc.strerror or _first_line(exc)})")


def check_readable(path: str | os.PathLike) -> int:
    """The size of the regular file at path, or ValueError naming it: missing, a folder,
    a device or pipe (reading one could block forever), unreadable."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise read_error(path.name, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{path.name}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path.name}: is not a regular file")
    return st.st_size


def load_points(path: str | os.PathLike) -> torch.Tensor:
    """Read a .csv/.txt (two numbers per line; see _read_text) or .npy point set.
    ValueError naming the file and the problem for anything else, read errors included."""
    path = Path(path)
    name = path.name
    size = check_readable(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".csv", ".txt"):
        raise ValueError(f"{name}: unsupported file type {suffix!r}; use .csv or .npy")
    try:
        arr = _read_npy(path, size) if suffix == ".npy" else _read_text(path, size)
    except OSError as exc:
        raise read_error(name, exc) from None
    except MemoryError:
        raise ValueError(f"{name}: too large to read into memory") from None
    return validate(arr, origin=name)


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _read_npy(path: Path, size: int) -> np.ndarray:
    """Check the header (shape, dtype, length) before reading, so a header claiming 1e11
    rows costs nothing and a pickled array is never unpickled."""
    name = path.name
    fmt = np.lib.format
    with open(path, "rb") as f:
        magic = f.read(len(_NPY_MAGIC))
        if magic.startswith(_ZIP_MAGIC):
            raise ValueError(
                f"{name}: is a .npz archive, not a .npy array; save one array with numpy.save"
            )
        if magic != _NPY_MAGIC:
            raise ValueError(f"{name}: not a readable .npy array (no NumPy header)")
        f.seek(0)
        try:
            shape, _fortran, dtype = npy.npy_header(f)
        except ValueError as exc:
            raise ValueError(
                f"{name}: not a readable .npy array (damaged header: {_first_line(exc)})"
            ) from None
        if dtype.hasobject:
            raise ValueError(f"{name}: holds pickled Python objects, which are never loaded")
        if dtype.kind == "c":
            raise ValueError(f"{name}: values are complex numbers, not coordinates")
        if dtype.kind not in "iuf" or dtype.fields:
            raise ValueError(f"{name}: values are not numeric (dtype {dtype})")
        if len(shape) != 2 or shape[1] != 2:
            raise ValueError(f"{name}: {_shape_problem(shape)}")
        if shape[0] > MAX_POINTS:
            raise ValueError(f"{name}: {shape[0]} points is more than the limit {MAX_POINTS}")
        need, have = shape[0] * 2 * dtype.itemsize, size - f.tell()
        if have < need:
            raise ValueError(
                f"{name}: is truncated: its header promises {shape[0]} points ({need} bytes), "
                f"the file holds {max(have, 0)} bytes of them"
            )
        f.seek(0)
        try:
            return fmt.read_array(f, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"{name}: not a readable .npy array ({_first_line(exc)})") from None


_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")


def _decode(raw: bytes, name: str) -> str:
    """Text of a point file: UTF-8 (with or without BOM), UTF-16 (BOM, or plainly two
    bytes per ASCII character), else Latin-1 -- what spreadsheets and numpy write."""
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif len(raw) >= 4 and raw[1::2].count(0) > len(raw) // 4 and not raw[0::2].count(0):
        encoding = "utf-16-le"
    elif len(raw) >= 4 and raw[0::2].count(0) > len(raw) // 4 and not raw[1::2].count(0):
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise ValueError(f"{name}: not a text file (damaged {encoding.upper()})") from None
        text = raw.decode("latin-1")
    if _BINARY.search(text):
        raise ValueError(f"{name}: not a text file (it holds binary data)")
    return text


def _cells(line: str) -> list[str]:
    """A line's cells: split at semicolons, else commas, else tabs, else whitespace; quotes
    removed; trailing empty cells (a trailing separator) dropped."""
    for sep in (";", ",", "\t"):
        if sep in line:
            cells = next(csv.reader([line], delimiter=sep, skipinitialspace=True))
            break
    else:
        cells = line.split()
    cells = [_unquote(c.strip()) for c in cells]
    while len(cells) > 1 and not cells[-1]:
        cells.pop()
    return cells


def _unquote(cell: str) -> str:
    if len(cell) >= 2 and cell[0] == cell[-1] and cell[0] in "\"'":
        return cell[1:-1].strip()
    return cell


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        pass
    if _DECIMAL_COMMA.fullmatch(cell):  # "1,5" from a spreadsheet in a decimal-comma locale
        return float(cell.replace(",", "."))
    return None


def _read_text(path: Path, size: int) -> np.ndarray:
    """Two numbers per line, separated by a comma, semicolon, tab or spaces, optionally
    quoted; blank lines and # comments skipped; at most one header line (before the
    numbers). Anything else: ValueError naming the line and what was wrong."""
    name = path.name
    if size > limits.MAX_TEXT_BYTES:
        raise ValueError(
            f"{name}: is too large for a point file ({size / 2**20:.0f} MB; "
            f"the limit is {MAX_POINTS} points)"
        )
    text = _decode(path.read_bytes(), name)
    rows: list[list[float]] = []
    header = False
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        cells = _cells(line)
        values = [_number(c) for c in cells]
        if None in values:
            if not rows and not header and all(v is None for v in values):
                header = True
                continue
            bad = cells[values.index(None)]
            found = repr(bad[:40]) if bad else "an empty cell"
            raise ValueError(f"{name}: line {number}: expected 2 numbers, found {found}")
        if len(values) != 2:
            raise ValueError(
                f"{name}: line {number}: expected 2 numbers, found {len(values)} ({line[:40]!r})"
            )
        for cell, v in zip(cells, values, strict=True):
            if not math.isfinite(v):
                raise ValueError(f"{name}: line {number}: {cell!r} is not a finite number")
            if abs(v) > limits.MAX_COORDINATE:
                raise ValueError(
                    f"{name}: line {number}: {cell} lies beyond ±1e6, not a drawable data set"
                )
        rows.append(values)
        if len(rows) > MAX_POINTS:
            raise ValueError(f"{name}: more than the limit of {MAX_POINTS} points")
    if not rows:
        raise ValueError(f"{name}: contains no points")
    return np.asarray(rows)


def save_points(path: str | os.PathLike, points: torch.Tensor | np.ndarray) -> None:
    """Write (n, 2) points as .csv or .npy, atomically (see atomic.write_atomic)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npy", ".txt"):
        raise ValueError(f"{path.name}: unsupported file type {suffix!r}; use .csv or .npy")
    arr = validate(points, origin=path.name).numpy()

    def write(f):
        if suffix == ".npy":
            np.save(f, arr)
        else:
            f.write(b"x,y\n")
            # 9 significant digits: every float32 reads back bit for bit.
            np.savetxt(f, arr, delimiter=",", fmt="%.9g")

    write_atomic(path, write)


atomic_write: Callable = write_atomic  # the former name, kept for callers
