"""Session files: one zip that opens in class exactly as it was saved at home.

Format ("flowviz.session-file", version 1), a zip archive of these members only:

    session.json   {"format": "flowviz.session-file", "version": 1, "flowviz": "0.1.0",
                    "title": "...", "description": "...",      (optional, for the gallery)
                    "session": Session.to_dict(points=False),
                    "source": true | false,                     (is source.npy present)
                    "trained": null | {"config": TrainConfig.to_dict(), "step": int,
                                       "losses": true | false}}
    data.npy       the data points z: float32 (N, 2), little-endian
    source.npy     the drawn source points, float32 (M, 2)     (only when "source" is true)
    weights.npz    the velocity network's state_dict: one float32 array per name
                   (only when "trained" is not null)
    losses.npy     the loss history: float64 (K, 3) rows of (step, L_CFM, L_FM)
                   (only when "trained"."losses" is true)

Nothing is ever unpickled: JSON, and numpy arrays read with allow_pickle=False after their
header (dtype, shape, length) is checked. A file is refused whole, with one ValueError
naming it, before anything is applied: not a zip, truncated or damaged, no session.json,
a newer format, a member outside the list above (a pickle, a name with `..` or an absolute
path), a member larger than its limit (declared or actual: a zip bomb stops reading at the
limit), points that are NaN, infinite or of the wrong shape, weights that do not fit the
stored network settings.

Saving goes through core.atomic.write_atomic: a crash leaves the old file or the new one.
No Qt here; torch is imported only when a file holds trained weights.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

import flowviz
from flowviz.core import limits, text
from flowviz.core.atomic import write_atomic
from flowviz.core.npy import npy_header
from flowviz.session import Session

if TYPE_CHECKING:
    from flowviz.core.training import TrainConfig

FORMAT = "flowviz.session-file"
VERSION = 1
SUFFIX = ".flowviz"
FILTER = "flowviz sessions (*.flowviz);;All files (*)"

MAX_FILE_BYTES = limits.MAX_CHECKPOINT_BYTES
MAX_JSON_BYTES = 1 << 20
_POINTS_BYTES = 128 + limits.MAX_POINTS * 2 * 4  # header + float32 (N, 2)
MAX_LOSS_ROWS = 1_000_000
_LOSSES_BYTES = 128 + MAX_LOSS_ROWS * 3 * 8
#: The largest network (width 1024, depth 12) is ~12.6 M float32 weights, ~50 MB.
_WEIGHTS_BYTES = 64 << 20
#: member -> the most bytes it may hold once decompressed.
MEMBERS = {
    "session.json": MAX_JSON_BYTES,
    "data.npy": _POINTS_BYTES,
    "source.npy": _POINTS_BYTES,
    "weights.npz": _WEIGHTS_BYTES,
    "losses.npy": _LOSSES_BYTES,
}
_STAMP = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same session saves the same bytes


class Trained(dict):
    """{"weights": {name: tensor}, "config": TrainConfig, "step": int,
    "losses": [(step, cfm, fm), ...]}: what the training controller's trained_state()
    returns and restore_trained() takes (a plain dict works as well)."""


# ---------------------------------------------------------------- saving


def save(
    path: str | os.PathLike,
    session: Session,
    trained: dict | None = None,
    *,
    title: str = "",
    description: str = "",
) -> None:
    """Write session (and the trained network, if given) to path atomically. ValueError if
    the trained part is malformed (nothing is written); atomic.SaveError (an OSError naming
    path) if the file cannot be written."""
    meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "flowviz": flowviz.__version__}
    if title:
        meta["title"] = str(title)
    if description:
        meta["description"] = str(description)
    meta["session"] = session.to_dict(points=False)
    meta["source"] = session.source is not None
    members = {"data.npy": _npy(np.asarray(session.data, dtype="<f4"))}
    if session.source is not None:
        members["source.npy"] = _npy(np.asarray(session.source, dtype="<f4"))
    meta["trained"] = None
    if trained is not None:
        weights, config, step, losses = _trained_parts(trained)
        meta["trained"] = {"config": config.to_dict(), "step": step, "losses": losses is not None}
        members["weights.npz"] = _npz(weights)
        if losses is not None:
            members["losses.npy"] = _npy(losses)
    members = {"session.json": json.dumps(meta, indent=1).encode("utf-8"), **members}

    def write(f: BinaryIO) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name, raw in members.items():
                info = zipfile.ZipInfo(name, date_time=_STAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, raw)

    write_atomic(Path(path), write)


def _trained_parts(trained: dict):
    """(weights {name: float32 array}, TrainConfig, step, losses (K, 3) float64 or None)."""
    from flowviz.core.training import TrainConfig

    try:
        weights, config, step = trained["weights"], trained["config"], trained["step"]
    except (KeyError, TypeError):
        raise ValueError("the trained network needs weights, config and step") from None
    if not isinstance(config, TrainConfig):
        raise ValueError(f"the trained config is not a TrainConfig ({type(config).__name__})")
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
        raise ValueError(f"the trained step must be a whole number >= 0, got {step!r}")
    arrays = {}
    for key, value in dict(weights).items():
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if arr.dtype.kind != "f":
            raise ValueError(f"the weight {key!r} is not real-valued ({arr.dtype})")
        arrays[str(key)] = np.ascontiguousarray(arr, dtype="<f4")
    _check_weights(arrays, config, "the trained network")
    losses = trained.get("losses")
    if losses is not None and len(losses):
        losses = np.asarray([tuple(row) for row in losses], dtype="<f8").reshape(-1, 3)
        _check_losses(losses, "the loss history")
    else:
        losses = None
    return arrays, config, int(step), losses


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # the outer zip compresses
        for key, arr in arrays.items():
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=_STAMP), _npy(arr))
    return buf.getvalue()


# ---------------------------------------------------------------- loading


def load(path: str | os.PathLike) -> tuple[Session, dict | None]:
    """(Session, trained or None) of the file at path, every part checked; ValueError
    "NAME: problem" on anything wrong, so a caller applies all of a file or none of it."""
    name = text.name(Path(path).name)
    try:
        return _load(Path(path))
    except _Refused as exc:
        raise ValueError(f"{name}: {exc}") from None
    except (TypeError, OverflowError, KeyError, AttributeError, RecursionError) as exc:
        # A safety net: every check above names the problem; this names at least the file.
        kind = type(exc).__name__
        raise ValueError(f"{name}: not a usable session file ({kind}: {text.name(exc)})") from None


def info(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of session.json (title, description, flowviz version, ...) without
    reading the points: the gallery lists files with it. ValueError as load()."""
    name = text.name(Path(path).name)
    try:
        with _open(Path(path)) as zf:
            meta = _meta(zf)
    except _Refused as exc:
        raise ValueError(f"{name}: {exc}") from None
    return {k: v for k, v in meta.items() if k in ("title", "description", "flowviz", "version")}


class _Refused(Exception):
    """A problem with the file; load() prefixes its name."""


def _open(path: Path) -> zipfile.ZipFile:
    try:
        size = os.stat(path).st_size
        if not path.is_file():
            raise _Refused("is not a regular file")
    except OSError as exc:
        raise _Refused(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if size > MAX_FILE_BYTES:
        raise _Refused(f"is too large for a flowviz session ({size / 2**20:.0f} MB)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not raw:
        raise _Refused("not a flowviz session file (the file is empty)")
    if not raw.startswith(b"PK\x03\x04"):
        raise _Refused("not a flowviz session file (not a zip archive)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _Refused(f"not a readable session file (truncated or damaged zip: {exc})") from None
    _check_names(zf)
    return zf


def _check_names(zf: zipfile.ZipFile) -> None:
    """Only the documented members, each once, within its size limit as declared."""
    seen = set()
    for item in zf.infolist():
        n = item.filename
        if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/") or ":" in n:
            raise _Refused(f"unsafe: the archive holds a member named {text.quoted(n)} (refused)")
        if n not in MEMBERS:
            raise _Refused(f"not a flowviz session file: unexpected member {text.quoted(n)}")
        if n in seen:
            raise _Refused(f"damaged: the member {text.quoted(n)} appears twice")
        if item.flag_bits & 0x1:
            raise _Refused(f"the member {n} is encrypted; a session file is never encrypted")
        if item.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(
                f"the member {n} uses compression method {item.compress_type}; "
                "a session file uses deflate or none"
            )
        seen.add(n)
        if item.file_size > MEMBERS[n]:
            raise _Refused(f"the member {n} declares {item.file_size} bytes, over its limit")
    if "session.json" not in seen:
        raise _Refused("not a flowviz session file (no session.json)")


def _read(zf: zipfile.ZipFile, member: str) -> bytes:
    """A member's bytes, reading no more than its limit (whatever its header declares)."""
    limit = MEMBERS[member]
    try:
        with zf.open(member) as f:
            raw = f.read(limit + 1)
    except KeyError:
        raise _Refused(f"damaged: the member {member} is missing") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise _Refused(f"truncated or damaged ({member}: {text.name(exc)})") from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, unknown compression
        raise _Refused(f"the member {member} cannot be read ({text.name(exc)})") from None
    if len(raw) > limit:
        raise _Refused(f"the member {member} is larger than its limit")
    return raw


def _meta(zf: zipfile.ZipFile) -> dict:
    raw = _read(zf, "session.json")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Refused(f"session.json is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _Refused("not a flowviz session file (session.json is of another format)")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Refused(f"the session file version {text.quoted(version)} is malformed")
    if version > VERSION:
        raise _Refused(
            f"saved by a newer flowviz ({text.name(meta.get('flowviz', '?'))}, "
            f"file format {text.name(version)}); "
            f"this one ({flowviz.__version__}) reads up to format {VERSION}"
        )
    return meta


def _load(path: Path) -> tuple[Session, dict | None]:
    with _open(path) as zf:
        meta = _meta(zf)
        names = set(zf.namelist())
        if "data.npy" not in names:
            raise _Refused("damaged: the data points (data.npy) are missing")
        data = _points(_read(zf, "data.npy"), "data.npy")
        source = None
        if meta.get("source"):
            if "source.npy" not in names:
                raise _Refused("damaged: the source points (source.npy) are missing")
            source = _points(_read(zf, "source.npy"), "source.npy")
            try:
                limits.check_pairs(len(data), len(source))
            except ValueError as exc:
                raise _Refused(str(exc)) from None
        d = meta.get("session")
        if not isinstance(d, dict):
            raise _Refused("session.json: the field 'session' must be a mapping of settings")
        d = {k: v for k, v in d.items() if k not in ("data", "source")}
        try:
            session = Session.from_dict(d, base=Session(data=data, source=source))
        except ValueError as exc:
            raise _Refused(f"the session settings are invalid: {exc}") from None
        trained = meta.get("trained")
        if trained is None:
            return session, None
        return session, _load_trained(zf, trained, names)


def _load_trained(zf: zipfile.ZipFile, d: Any, names: set[str]) -> dict:
    import torch

    from flowviz.core.training import TrainConfig

    if not isinstance(d, dict):
        raise _Refused("the trained network's entry in session.json is malformed")
    try:
        config = TrainConfig.from_dict(d.get("config"))
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Refused(f"the stored training settings are invalid: {text.name(exc)}") from None
    step = d.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < 2**62:
        raise _Refused("the stored step count is missing or malformed")
    if "weights.npz" not in names:
        raise _Refused("damaged: the trained weights (weights.npz) are missing")
    arrays = _weights(_read(zf, "weights.npz"))
    _check_weights(arrays, config, "weights.npz", refuse=_Refused)
    losses: list[tuple[int, float, float]] = []
    if d.get("losses"):
        if "losses.npy" not in names:
            raise _Refused("damaged: the loss history (losses.npy) is missing")
        table = _array(_read(zf, "losses.npy"), "losses.npy", dtype="<f8", cols=3)
        _check_losses(table, "losses.npy", refuse=_Refused)
        losses = [(int(s), float(c), float(f)) for s, c, f in table]
    weights = {k: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()}
    return Trained(weights=weights, config=config, step=step, losses=losses)


def _array(raw: bytes, member: str, *, dtype: str, cols: int, max_rows: int | None = None):
    """A (n, cols) array of dtype from .npy bytes: header checked before reading."""
    f = io.BytesIO(raw)
    try:
        shape, fortran, got = npy_header(f)
    except ValueError:
        raise _Refused(f"{member} is not a readable .npy array") from None
    if got.hasobject:
        raise _Refused(f"unsafe: {member} holds pickled Python objects, which are never loaded")
    if got != np.dtype(dtype):
        raise _Refused(f"{member} holds {got} values; a session file stores {np.dtype(dtype)}")
    if fortran:
        raise _Refused(f"{member} is stored in column-major (Fortran) order; a session file "
                       "stores rows one after another (C order)")  # fmt: skip
    if len(shape) != 2 or shape[1] != cols or shape[0] < 0:
        raise _Refused(f"{member} has shape {shape}; expected (n, {cols})")
    if max_rows is not None and shape[0] > max_rows:
        raise _Refused(f"{member} holds {shape[0]} rows, more than the limit {max_rows}")
    need = shape[0] * cols * got.itemsize
    if len(raw) - f.tell() != need:
        raise _Refused(f"{member} is truncated or damaged (its header promises {need} bytes)")
    return np.frombuffer(raw, dtype=got, offset=f.tell()).reshape(shape).copy()


def _points(raw: bytes, member: str) -> np.ndarray:
    pts = _array(raw, member, dtype="<f4", cols=2, max_rows=limits.MAX_POINTS)
    if not np.isfinite(pts).all():
        row = int(np.argmax(~np.isfinite(pts).all(axis=1)))
        raise _Refused(f"{member} row {row + 1} is not finite ({pts[row].tolist()})")
    if len(pts) and np.abs(pts).max() > limits.MAX_COORDINATE:
        raise _Refused(f"{member} holds points beyond ±1e6, not a drawable data set")
    return pts


def _weights(raw: bytes) -> dict[str, np.ndarray]:
    """The arrays of weights.npz, each a float32 array read with its header checked."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _Refused("weights.npz is not a readable archive") from None
    out: dict[str, np.ndarray] = {}
    total = 0
    with inner:
        for item in inner.infolist():
            n = item.filename
            if not n.endswith(".npy") or "/" in n or "\\" in n or n.startswith(".."):
                raise _Refused(f"unsafe: weights.npz holds a member named {text.quoted(n)}")
            total += item.file_size
            if total > _WEIGHTS_BYTES:
                raise _Refused("weights.npz is larger than the largest network")
            try:
                with inner.open(item) as f:
                    data = f.read(_WEIGHTS_BYTES + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
                raise _Refused("weights.npz is truncated or damaged") from None
            except (RuntimeError, NotImplementedError) as exc:  # encrypted, unknown method
                raise _Refused(f"weights.npz cannot be read ({text.name(exc)})") from None
            if len(data) > _WEIGHTS_BYTES:
                raise _Refused("weights.npz is larger than the largest network")
            out[n[: -len(".npy")]] = _tensor(data, f"weights.npz:{text.name(n)}")
    if not out:
        raise _Refused("weights.npz holds no weights")
    return out


def _tensor(raw: bytes, member: str) -> np.ndarray:
    """A float32 array of any shape from .npy bytes (a weight), header checked first."""
    f = io.BytesIO(raw)
    try:
        shape, fortran, got = npy_header(f)
    except ValueError:
        raise _Refused(f"{member} is not a readable .npy array") from None
    if got.hasobject:
        raise _Refused(f"unsafe: {member} holds pickled Python objects, which are never loaded")
    if got != np.dtype("<f4"):
        raise _Refused(f"{member} holds {got} values; weights are stored as float32")
    if fortran:
        raise _Refused(f"{member} is stored in column-major (Fortran) order; weights are "
                       "stored in C order")  # fmt: skip
    if any(d < 0 for d in shape) or math.prod(shape) * 4 > _WEIGHTS_BYTES:
        raise _Refused(f"{member} has shape {text.name(shape)}, not a weight of any network")
    need = math.prod(shape) * 4
    if len(raw) - f.tell() != need:
        raise _Refused(f"{member} is truncated or damaged")
    return np.frombuffer(raw, dtype=got, offset=f.tell()).reshape(shape).copy()


def _check_weights(
    arrays: dict[str, np.ndarray], config: TrainConfig, what: str, *, refuse=ValueError
) -> None:
    """The arrays are finite and exactly the state_dict of config's network."""
    from flowviz.core.model import VelocityMLP

    for key, arr in arrays.items():
        if not np.isfinite(arr).all():
            raise refuse(f"{what} holds NaN or infinite values ({text.name(key)})")
    wanted = {k: tuple(v.shape) for k, v in VelocityMLP(config.model).state_dict().items()}
    got = {k: tuple(v.shape) for k, v in arrays.items()}
    if wanted != got:
        missing = sorted(set(wanted) - set(got))
        extra = sorted(set(got) - set(wanted))
        shapes = [k for k in wanted if k in got and got[k] != wanted[k]]
        if shapes:
            k = shapes[0]
            problem = f"{k} is {got[k]}, the stored settings need {wanted[k]}"
        elif missing:
            problem = f"missing {', '.join(missing)}"
        else:
            problem = f"extra {text.name(', '.join(extra))}"
        raise refuse(f"{what}: the weights do not fit the stored network settings ({problem})")


def _check_losses(table: np.ndarray, what: str, *, refuse=ValueError) -> None:
    if len(table) > MAX_LOSS_ROWS:
        raise refuse(f"{what} holds more than {MAX_LOSS_ROWS} rows")
    steps = table[:, 0]
    if not np.isfinite(steps).all() or (steps < 0).any() or (steps != np.round(steps)).any():
        raise refuse(f"{what}: the steps must be whole numbers >= 0")
    if np.isinf(table[:, 1:]).any():  # NaN is allowed: a loss not measured at that step
        raise refuse(f"{what} holds infinite losses")
