"""Checkpoints: weights + config + data in one file, safe to open.

Loading uses torch.load(weights_only=True), so a crafted file cannot run code; the
payload holds only tensors, numbers and strings.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from flowviz.core.data import atomic_write
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
    """Write atomically: a crash mid-save leaves any earlier file intact."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "data": data.detach().cpu().to(torch.float32).clone(),
        "source": None if source is None else source.detach().cpu().to(torch.float32).clone(),
        "step": int(step),
    }
    atomic_write(Path(path), lambda f: torch.save(payload, f))


def load(path: str | os.PathLike, *, map_location: str = "cpu") -> Checkpoint:
    """Read a checkpoint; ValueError naming the file and the problem if it is not one."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"{name}: no such file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{name}: not a readable flowviz checkpoint ({first[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{name}: not a flowviz checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(f"{name}: checkpoint version {payload.get('version')} is not supported")
    try:
        config = TrainConfig.from_dict(payload["config"])
        model = VelocityMLP(config.model)
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0][:200]
        raise ValueError(f"{name}: weights do not fit the stored architecture ({msg})") from None
    data = payload.get("data")
    if not torch.is_tensor(data) or data.ndim != 2 or data.shape[1] != 2:
        raise ValueError(f"{name}: the stored data set is missing or malformed")
    source = payload.get("source")
    if source is not None and not (
        torch.is_tensor(source) and source.ndim == 2 and source.shape[1] == 2
    ):
        raise ValueError(f"{name}: the stored source point set is malformed")
    step = payload.get("step")
    if not isinstance(step, int) or step < 0:
        raise ValueError(f"{name}: the stored step count is missing or malformed")
    model.eval()
    return Checkpoint(model=model, config=config, data=data, source=source, step=step)
