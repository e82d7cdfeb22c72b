"""Exports that end early (issue 22): SIGINT, SIGTERM and SIGHUP during GIF, PNG-folder, MP4
and WebM exports, a file-size limit, an encoder that hangs. Each ends in one line, the
usual exit status, no partial file, and an existing output untouched."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from flowviz.export import writers
from flowviz.export.writers import ExportError, open_writer, plan

ROOT = Path(__file__).resolve().parents[2]
OLD = b"an earlier export, still wanted"
#: (output name, signal): every format and every signal at least once.
RUNS = [
    ("talk.gif", signal.SIGINT),
    ("frames", signal.SIGTERM),
    ("talk.mp4", signal.SIGHUP),
    ("talk.webm", signal.SIGINT),
]


def _export(out: Path, frames: int = 2000, **popen) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "main.py"), "export", "--data", "moons", "--n", "200",
           "--frames", str(frames), "--fps", "25", "--size", "96x64", "--particles", "100",
           "--out", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env, **popen
    )


def _started(folder: Path) -> bool:
    """The export is writing: its hidden temporary exists (and a folder's has frames)."""
    for p in folder.iterdir():
        if p.name.startswith(".") and ".part" in p.name:
            return not p.is_dir() or any(p.iterdir())
    return False


def test_every_signal_ends_every_format_cleanly(tmp_path):
    runs = []
    for name, sig in RUNS:
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        out = folder / name
        if out.suffix:
            out.write_bytes(OLD)
        else:
            out.mkdir()
            (out / "frame_0000.png").write_bytes(OLD)
        runs.append((folder, out, sig, _export(out)))
    deadline = time.monotonic() + 300
    for folder, _out, sig, proc in runs:
        while not _started(folder) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(sig)
    for folder, out, sig, proc in runs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + sig, (sig, err)
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("[", "\r"))]
        lines = [ln.rsplit("\r", 1)[-1] for ln in lines if "note:" not in ln]
        assert len(lines) == 1 and signal.Signals(sig).name in lines[0], err
        assert "Traceback" not in err and "nothing written" in lines[0]
        kept = (out / "frame_0000.png") if out.is_dir() else out
        assert kept.read_bytes() == OLD, "an interrupt must never replace the output"
        assert sorted(p.name for p in folder.iterdir()) == [out.name], "partial files left"
        if out.is_dir():
            assert [p.name for p in out.iterdir()] == ["frame_0000.png"]


def test_a_file_size_limit_says_the_file_could_not_grow(tmp_path):
    limit = 4 * 1024  # a GIF of changed rectangles: a few hundred bytes a frame here

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = _export(tmp_path / "big.gif", frames=600, preexec_fn=small_files)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    last = err.strip().splitlines()[-1].rsplit("\r", 1)[-1]
    assert last.startswith("flowviz: error: ") and "the file could not grow" in last, err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def hung_encoder(tmp_path, monkeypatch):
    """An "ffmpeg" that takes no frames and never exits; the watchdog waits 1 s."""
    exe = tmp_path / "ffmpeg-hangs"
    exe.write_text("#!/bin/sh\nexec sleep 600\n")
    exe.chmod(0o755)
    monkeypatch.setattr(writers, "_ffmpeg", lambda path=None: str(exe))
    monkeypatch.setattr(writers, "STALL_S", 1.0)


@pytest.mark.parametrize("name", ["stuck.mp4", "stuck-frames"])
def test_a_hung_encoder_is_stopped_and_leaves_nothing(hung_encoder, tmp_path, name):
    folder = tmp_path / "out"
    folder.mkdir()
    target = plan(folder / name, width=640, height=480, fps=10, frames=10)
    frame = np.zeros(target.frame_shape, np.uint8)
    stopped = pytest.raises(ExportError, match="made no progress for 1 s and was stopped")
    with stopped, open_writer(target) as w:
        for _ in range(target.frames):  # 9 MB: the pipe fills, the write blocks
            w.write(frame)
    assert list(folder.iterdir()) == []


def test_a_cancel_asked_while_finishing_never_replaces_the_output(tmp_path):
    """A signal noted after the last frame: the finished file is thrown away, not published."""
    out = tmp_path / "keep.gif"
    out.write_bytes(OLD)
    target = plan(out, width=32, height=32, fps=10, frames=3)
    asked = []
    cancel = open_writer(target, cancelled=lambda: asked.append(1) or True)
    with pytest.raises(writers.Cancelled), cancel as w:
        for _ in range(3):
            w.write(np.zeros(target.frame_shape, np.uint8))
    assert asked and out.read_bytes() == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["keep.gif"]
