"""Headless export: each format reads back with the requested frames and size; Ctrl+C
leaves nothing; bad arguments are one line before any work."""

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from flowviz.core import data
from flowviz.export.animation import Spec, export
from flowviz.export.writers import ExportError
from flowviz.session import Session

W, H, FRAMES = 320, 192, 5


@pytest.fixture(scope="module")
def session():
    pts = data.preset("moons", 150, seed=0).numpy()
    return Session(data=pts).patch(display={"particles": 150, "steps": 20})


def _frames_of(path):
    if path.is_dir():
        return [iio.imread(p) for p in sorted(path.glob("frame_*.png"))]
    if path.suffix == ".gif":
        return list(iio.imread(path, index=None))
    # mp4/webm: decode with the bundled ffmpeg (imageio's reader leaves a thread running)
    import imageio_ffmpeg

    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    return list(np.frombuffer(out, np.uint8).reshape(-1, H, W, 3))


@pytest.mark.parametrize("name", ["a.mp4", "a.gif", "a.webm", "frames"])
def test_each_format_reads_back_with_its_frames_and_size(session, tmp_path, name):
    spec = Spec(views=("conditional", "marginal"), width=W, height=H, fps=10, frames=FRAMES)
    path = export(session, spec, tmp_path / name)
    frames = _frames_of(path)
    assert len(frames) == FRAMES
    assert all(f.shape[:2] == (H, W) for f in frames)
    first, last = (np.asarray(f[..., :3], np.float64) for f in (frames[0], frames[-1]))
    assert first.mean() > 150  # a light picture, not black
    assert np.abs(first - last).mean() > 1.0  # the particles moved from noise to data
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left


def test_loop_and_reverse_times():
    assert Spec(frames=5).times().tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert Spec(frames=5, direction="reverse").times().tolist() == [1, 0.75, 0.5, 0.25, 0]
    loop = Spec(frames=6, direction="loop").times()
    assert loop[0] == 0 and loop.max() == 1 and loop[-1] < 0.5


def test_interrupt_leaves_no_file_and_keeps_an_old_one(session, tmp_path):
    old = tmp_path / "talk.mp4"
    old.write_bytes(b"the old video")

    def progress(done, _total):
        if done == 2:
            raise KeyboardInterrupt

    spec = Spec(views=("marginal",), width=W, height=H, fps=10, frames=FRAMES)
    with pytest.raises(KeyboardInterrupt):
        export(session, spec, old, progress=progress)
    assert old.read_bytes() == b"the old video"
    assert [p.name for p in tmp_path.iterdir()] == ["talk.mp4"]


def test_the_learned_view_needs_a_model(session, tmp_path):
    with pytest.raises(ValueError, match="trained model"):
        export(session, Spec(views=("learned",), frames=2), tmp_path / "x.mp4")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args, words",
    [
        (["--frames", "0"], "frames must be at least 1"),
        (["--out", "{tmp}/x.avi"], "unknown extension"),
        (["--size", "big"], "WIDTHxHEIGHT"),
        (["--view", "sideways"], "--view"),
        (["--view", "learned"], "needs a model"),
        (["--out", "{tmp}/missing/x.mp4"], "missing"),
        (["--particles", "-3"], "--particles"),
        (["--data", "nothere.csv"], "nothere.csv"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_any_work(tmp_path, capsys, args, words):
    from flowviz.cli import main

    argv = ["export", "--out", f"{tmp_path}/x.mp4", "--frames", "2", "--quiet"]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flowviz: error:") and words in err[0]
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_command_line_export_without_a_display(tmp_path):
    """A real process, no QT_QPA_PLATFORM and no DISPLAY: offscreen is chosen by itself."""
    env = {k: v for k, v in __import__("os").environ.items()}
    for key in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(key, None)
    out = tmp_path / "m.gif"
    cmd = [sys.executable, "main.py", "export", "--data", "moons", "--n", "100",
           "--frames", "3", "--fps", "5", "--size", "161x97", "--particles", "100",
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(list(iio.imread(out, index=None))) == 3
    assert "frame 3/3" in done.stderr  # the progress bar


def test_an_odd_mp4_size_is_rounded_and_said(tmp_path, capsys):
    from flowviz.cli import main

    out = tmp_path / "m.mp4"
    argv = ["export", "--n", "100", "--particles", "50", "--frames", "2", "--size", "161x97"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    assert "rounded to 160x96" in capsys.readouterr().err
    assert out.stat().st_size > 0


def test_export_error_is_a_value_error():
    assert issubclass(ExportError, ValueError)


def test_a_session_file_exports_what_was_set_up_in_the_window(tmp_path, capsys):
    """--session: its data, display, views and trained network (a gallery file)."""
    from pathlib import Path

    from flowviz.cli import main
    from flowviz.sessions import file

    gallery = Path(__file__).parents[2] / "assets" / "sessions" / "two-moons-trained.flowviz"
    session, trained = file.load(gallery)
    assert trained is not None and "learned" in session.views
    out = tmp_path / "s.gif"
    argv = ["export", "--session", str(gallery), "--frames", "2", "--size", "320x192"]
    assert main([*argv, "--particles", "100", "--quiet", "--out", str(out)]) == 0
    assert len(list(iio.imread(out, index=None))) == 2
    assert main([*argv, "--data", "moons", "--out", str(tmp_path / "x.gif")]) == 2
    assert "--session brings its own data" in capsys.readouterr().err
