"""Checkpoints: weights + config + data in one file, safe to open.

Loading uses torch.load(weights_only=True), so a crafted file cannot run code; the
payload holds only tensors, numbers and strings. Everything in it is checked before it is
used -- settings against core.limits before a layer is built (a small file declaring
width 20000 must not cost gigabytes), weights and points for NaN, infinity and scale --
so a caller either gets a whole, usable checkpoint or one ValueError naming the file and
the problem, and never applies half of a file.
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from flowviz.core import data as data_mod
from flowviz.core import limits
from flowviz.core.atomic import write_atomic
from flowviz.core.model import VelocityMLP
from flowviz.core.training import TrainConfig

FORMAT = "flowviz-checkpoint"
VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    model: VelocityMLP
    config: TrainConfig
    data: torch.Tensor
    source: torch.Tensor | None
    step: int


def save(
    path: str | os.PathLike,
    *,
    model: VelocityMLP,
    config: TrainConfig,
    data: torch.Tensor,
    source: torch.Tensor | None = None,
    step: int = 0,
) -> None:
    """Write atomically (see atomic.write_atomic): a crash mid-save leaves any earlier file
    intact; an OSError comes as atomic.SaveError naming path."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "data": data.detach().cpu().to(torch.float32).clone(),
        "source": None if source is None else source.detach().cpu().to(torch.float32).clone(),
        "step": int(step),
    }
    write_atomic(Path(path), lambda f: torch.save(payload, f))


def load(path: str | os.PathLike, *, map_location: str = "cpu") -> Checkpoint:
    """Read and check a checkpoint; ValueError naming the file and the problem if it is not
    a whole, valid one (read errors included)."""
    path = Path(path)
    name = path.name
    size = data_mod.check_readable(path)
    if size > limits.MAX_CHECKPOINT_BYTES:
        raise ValueError(
            f"{name}: is too large for a flowviz checkpoint ({size / 2**20:.0f} MB; the "
            f"largest valid one is under {limits.MAX_CHECKPOINT_BYTES // 2**20} MB)"
        )
    payload = _read(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{name}: not a flowviz checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(f"{name}: checkpoint version {payload.get('version')!r} is not supported")
    if "config" not in payload:
        raise ValueError(f"{name}: the stored settings are missing")
    try:
        config = TrainConfig.from_dict(payload["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: the stored settings are invalid: {_line(exc)}") from None
    model = _model(name, config, payload.get("state_dict"))
    points = _points(name, payload.get("data"), "data set")
    source = payload.get("source")
    if source is not None:
        source = _points(name, source, "source point set")
        if config.sigma_min <= 0:
            raise ValueError(f"{name}: a stored source point set needs sigma_min > 0")
    step = payload.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < 2**62:
        raise ValueError(f"{name}: the stored step count is missing or malformed")
    model.eval()
    return Checkpoint(model=model, config=config, data=points, source=source, step=step)


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _read(path: Path, map_location: str):
    """The unpickled payload. The bytes are read first, so that a read error (named as
    such) is never confused with torch.load's complaints about the content."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise data_mod.read_error(name, exc) from None
    if not raw:
        raise ValueError(f"{name}: not a readable flowviz checkpoint (the file is empty)")
    if not raw.startswith((b"PK\x03\x04", b"\x80")):  # a zip archive or a legacy pickle
        raise ValueError(f"{name}: not a readable flowviz checkpoint (not a PyTorch file)")
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": a second line, or with
            warnings.simplefilter("ignore")  # warnings as errors a misleading message
            return torch.load(io.BytesIO(raw), map_location=map_location, weights_only=True)
    except MemoryError:
        raise ValueError(f"{name}: too large to read into memory") from None
    except pickle.UnpicklingError as exc:
        if "weights only load failed" in str(exc).lower():
            raise ValueError(
                f"{name}: not a flowviz checkpoint, or unsafe: it holds Python objects, "
                "which are never loaded"
            ) from None
        raise ValueError(f"{name}: not a readable flowviz checkpoint ({_line(exc)})") from None
    except Exception as exc:  # torch.load's failures on damaged bytes have no fixed type
        if raw.startswith(b"PK"):  # torch's zip reader speaks of miniz and enforce fails
            reason = "a damaged zip archive, or one that is not a PyTorch file"
        else:
            reason = f"damaged: {_line(exc).split('. ')[0][:120]}"
        raise ValueError(f"{name}: not a readable flowviz checkpoint ({reason})") from None


def _model(name: str, config: TrainConfig, state) -> VelocityMLP:
    """The model of config (already within limits) with the stored weights, all finite."""
    if not isinstance(state, dict) or not state:
        raise ValueError(f"{name}: the stored weights are missing")
    for key, value in state.items():
        if not torch.is_tensor(value):
            raise ValueError(f"{name}: the stored weight {key!r} is not a tensor")
        if not value.is_floating_point():
            raise ValueError(
                f"{name}: the stored weight {key!r} is not real-valued ({value.dtype})"
            )
        if not torch.isfinite(value).all():
            raise ValueError(f"{name}: the stored weights hold NaN or infinite values ({key})")
    model = VelocityMLP(config.model)
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in state]
    extra = [str(k) for k in state if k not in wanted]
    shapes = [k for k in wanted if k in state and state[k].shape != wanted[k].shape]
    if missing or extra or shapes:
        if shapes:
            k = shapes[0]
            got, need = _dims(state[k].shape), _dims(wanted[k].shape)
            problem = f"{k} is {got}, the stored settings need {need}"
        else:
            problem = f"missing {', '.join(missing)}" if missing else f"extra {', '.join(extra)}"
        raise ValueError(f"{name}: the weights do not fit the stored architecture ({problem})")
    model.load_state_dict(state)
    return model


def _dims(shape) -> str:
    return "x".join(map(str, shape)) or "a scalar"


def _points(name: str, value, what: str) -> torch.Tensor:
    if not torch.is_tensor(value):
        raise ValueError(f"{name}: the stored {what} is missing or malformed")
    return data_mod.validate(value, origin=f"{name}: the stored {what}")
