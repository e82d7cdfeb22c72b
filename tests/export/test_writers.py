"""Export writers: each format reads back, nothing is left behind on failure or Ctrl+C.

Videos are decoded with the bundled ffmpeg run directly: imageio's ffmpeg reader keeps a
log thread and pipes that the test-wide thread check and warnings-as-errors reject. GIF and
PNG frames are read with imageio.
"""

from __future__ import annotations

import gc
import os
import re
import stat
import subprocess
import time

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from flowviz.export import writers
from flowviz.export.writers import ExportError, Target, open_writer, plan

W, H, N = 160, 96, 12


def frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A gradient moving right by 8 px a frame, blue rising with i."""
    x = (np.arange(w) * 255 // (w - 1) + 8 * i) % 256
    y = np.arange(h) * 255 // (h - 1)
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = x[None, :]
    img[..., 1] = y[:, None]
    img[..., 2] = 20 * i % 256
    return img


def export(path, n: int = N, w: int = W, h: int = H, fps: float = 12) -> Target:
    target = plan(path, width=w, height=h, fps=fps, frames=n)
    with open_writer(target) as writer:
        for i in range(n):
            writer.write(frame(i, target.width, target.height))
    return target


def decode_video(path) -> tuple[str, np.ndarray]:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    run = subprocess.run(
        [exe, "-hide_banner", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    )
    codec, w, h = re.search(rb"Video: (\w+).*?, (\d+)x(\d+)", run.stderr).groups()
    pixels = np.frombuffer(run.stdout, np.uint8).reshape(-1, int(h), int(w), 3)
    return codec.decode(), pixels


def read_back(target: Target) -> np.ndarray:
    if target.format == "png":
        names = sorted(os.listdir(target.path))
        assert names == [f"frame_{i:04d}.png" for i in range(len(names))]
        return np.stack([iio.imread(target.path / n) for n in names])
    if target.format == "gif":
        return iio.imread(target.path, index=None, plugin="pillow", mode="RGB")
    codec, pixels = decode_video(target.path)
    assert codec == {"mp4": "h264", "webm": "vp9"}[target.format]
    return pixels


def listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


# ------------------------------------------------------------------------ round trips


@pytest.mark.parametrize(
    ("name", "tolerance"), [("a.mp4", 4), ("a.webm", 4), ("a.gif", 4), ("frames", 0)]
)
def test_each_format_reads_back_with_count_size_and_colours(tmp_path, name, tolerance):
    target = export(tmp_path / name)
    got = read_back(target)
    assert got.shape == (N, H, W, 3)
    for i in (0, N // 2, N - 1):
        mean_got = got[i].reshape(-1, 3).mean(0)
        mean_sent = frame(i).reshape(-1, 3).mean(0)
        assert np.abs(mean_got - mean_sent).max() <= tolerance, (i, mean_got, mean_sent)
    assert listing(tmp_path) == [name]  # no temporary left beside it


def test_odd_size_is_rounded_to_even_for_mp4_and_said(tmp_path):
    target = export(tmp_path / "odd.mp4", w=161, h=97)
    assert (target.width, target.height) == (160, 96)
    assert any("161x97" in n and "160x96" in n and "even" in n for n in target.notes)
    assert read_back(target).shape == (N, 96, 160, 3)


def test_odd_size_is_kept_where_the_encoder_takes_it(tmp_path):
    for name in ("odd.webm", "odd.gif", "odd"):
        target = plan(tmp_path / name, width=161, height=97, fps=12, frames=N)
        assert (target.width, target.height, target.notes[:0]) == (161, 97, ())
    assert not plan(tmp_path / "even.mp4", width=W, height=H, fps=12, frames=N).notes


def test_a_view_without_contiguous_memory_is_accepted(tmp_path):
    target = plan(tmp_path / "rgba.gif", width=W, height=H, fps=12, frames=2)
    with open_writer(target) as writer:
        for i in range(2):
            rgba = np.dstack([frame(i), np.full((H, W), 255, np.uint8)])
            writer.write(rgba[..., :3])
    assert read_back(target).shape == (2, H, W, 3)


# ------------------------------------------------------------- all or nothing


@pytest.mark.parametrize("name", ["keep.mp4", "keep.gif", "keep.webm"])
def test_interrupt_leaves_no_file_and_keeps_the_old_one(tmp_path, name):
    old = tmp_path / name
    old.write_bytes(b"an earlier export, still wanted")
    before = listing(tmp_path)
    target = plan(old, width=W, height=H, fps=12, frames=N)
    with pytest.raises(KeyboardInterrupt), open_writer(target) as writer:
        for i in range(N):
            if i == 5:
                raise KeyboardInterrupt
            writer.write(frame(i))
    assert old.read_bytes() == b"an earlier export, still wanted"
    assert listing(tmp_path) == before


def test_interrupt_without_an_old_file_leaves_nothing(tmp_path):
    target = plan(tmp_path / "new.mp4", width=W, height=H, fps=12, frames=N)
    with pytest.raises(KeyboardInterrupt), open_writer(target) as writer:
        writer.write(frame(0))
        assert len(listing(tmp_path)) == 1  # the hidden temporary, with the real extension
        assert listing(tmp_path)[0].startswith(".new.")
        assert listing(tmp_path)[0].endswith(".part.mp4")
        raise KeyboardInterrupt
    assert listing(tmp_path) == []


def test_interrupted_frame_folder_keeps_the_old_frames(tmp_path):
    old = export(tmp_path / "frames", n=3)
    before = {n: (old.path / n).read_bytes() for n in listing(old.path)}
    target = plan(old.path, width=W, height=H, fps=12, frames=N)
    with pytest.raises(KeyboardInterrupt), open_writer(target) as writer:
        writer.write(frame(7))
        raise KeyboardInterrupt
    assert {n: (old.path / n).read_bytes() for n in listing(old.path)} == before
    assert listing(tmp_path) == ["frames"]


def test_abort_removes_the_temporary_and_ends_the_export(tmp_path):
    target = plan(tmp_path / "gone.webm", width=W, height=H, fps=12, frames=N)
    writer = open_writer(target)
    writer.write(frame(0))
    writer.abort()
    writer.abort()  # twice is harmless
    assert listing(tmp_path) == []
    with pytest.raises(ExportError, match="aborted"):
        writer.write(frame(1))


def test_a_finished_export_replaces_the_old_file(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"old")
    target = export(tmp_path / "clip.mp4")
    assert read_back(target).shape == (N, H, W, 3)
    assert listing(tmp_path) == ["clip.mp4"]


def test_a_finished_frame_folder_replaces_the_old_frames_all_at_once(tmp_path):
    export(tmp_path / "frames", n=20)
    target = export(tmp_path / "frames", n=5)
    assert listing(target.path) == [f"frame_{i:04d}.png" for i in range(5)]
    assert np.array_equal(read_back(target)[4], frame(4))
    assert listing(tmp_path) == ["frames"]


def test_frames_replace_old_ones_also_without_an_atomic_swap(tmp_path, monkeypatch):
    export(tmp_path / "frames", n=20)
    monkeypatch.setattr(writers, "_exchange", lambda a, b: False)  # not Linux: two renames
    target = export(tmp_path / "frames", n=5)
    assert listing(target.path) == [f"frame_{i:04d}.png" for i in range(5)]
    assert listing(tmp_path) == ["frames"]


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_usual_mode(tmp_path):
    old = tmp_path / "shared.gif"
    old.write_bytes(b"old")
    old.chmod(0o640)
    export(old, n=2)
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    umask = os.umask(0o022)
    os.umask(umask)
    export(tmp_path / "new.gif", n=2)  # not mkstemp's 0600: others may read what they could
    assert stat.S_IMODE((tmp_path / "new.gif").stat().st_mode) == 0o666 & ~umask


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.mp4"
    real.write_bytes(b"old")
    (tmp_path / "link.mp4").symlink_to(real)
    target = export(tmp_path / "link.mp4", n=2)
    assert target.path == real
    assert (tmp_path / "link.mp4").is_symlink()
    assert read_back(target).shape == (2, H, W, 3)


def test_a_forgotten_writer_cleans_up_when_collected(tmp_path):
    writer = open_writer(plan(tmp_path / "lost.mp4", width=W, height=H, fps=12, frames=N))
    writer.write(frame(0))
    process = writer._proc
    del writer
    gc.collect()
    assert process.returncode is not None
    assert listing(tmp_path) == []


def test_debris_of_a_killed_export_to_the_same_name_is_swept_when_stale(tmp_path):
    stale = [".clip.0123abcd.part.mp4", ".frames.0123abcd.part", ".frames.89abcdef.old"]
    fresh = ".clip.fedcba98.part.mp4"  # maybe a live export in another process
    others = [".other.0123abcd.part.mp4", "clip.0123abcd.part.mp4"]
    for n in [*stale[:1], fresh, *others]:
        (tmp_path / n).write_bytes(b"")
    for n in stale[1:]:
        (tmp_path / n).mkdir()
        (tmp_path / n / "frame_0000.png").write_bytes(b"")
    long_ago = time.time() - writers.STALE_AFTER_S - 60
    for n in [*stale, *others]:
        os.utime(tmp_path / n, (long_ago, long_ago))
    export(tmp_path / "clip.mp4", n=2)
    export(tmp_path / "frames", n=2)
    assert listing(tmp_path) == sorted([fresh, *others, "clip.mp4", "frames"])


def test_a_folder_with_other_files_is_not_used_for_frames(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "lecture.txt").write_text("mine")
    with pytest.raises(ExportError, match=r"not frames.*lecture\.txt"):
        plan(tmp_path / "notes", width=W, height=H, fps=12, frames=N)
    assert (tmp_path / "notes" / "lecture.txt").read_text() == "mine"


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("a.avi", {}, r"unknown extension '\.avi'.*\.mp4, \.gif, \.webm"),
        ("a.png", {}, "folder name without an extension"),
        ("a.mp4", {"frames": 0}, "frames must be at least 1, got 0"),
        ("a.mp4", {"frames": -3}, "frames must be at least 1, got -3"),
        ("a.mp4", {"frames": 2.5}, "frames must be a whole number"),
        ("a.mp4", {"fps": 0}, "fps must be from 1 to 120, got 0"),
        ("a.mp4", {"fps": 1000}, "fps must be from 1 to 120"),
        ("a.mp4", {"fps": float("nan")}, "fps must be from 1 to 120"),
        ("a.gif", {"fps": 60}, "fps must be from 1 to 50 .*GIF"),
        ("a.mp4", {"width": 8}, "8x96 is too small"),
        ("a.webm", {"width": 7680, "height": 4321}, "7680x4321 is too large"),
        ("a.gif", {"width": 10000, "height": 100}, "10000x100 is too large"),
    ],
)
def test_bad_requests_are_refused_before_any_work(tmp_path, name, kwargs, message):
    args = {"width": W, "height": H, "fps": 12, "frames": N, **kwargs}
    with pytest.raises(ExportError, match=message) as caught:
        plan(tmp_path / name, **args)
    assert str(tmp_path / name) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert listing(tmp_path) == []


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(ExportError, match="does not exist") as caught:
        plan(tmp_path / "nowhere" / "a.mp4", width=W, height=H, fps=12, frames=N)
    assert str(tmp_path / "nowhere") in str(caught.value)


def test_a_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="is not a folder"):
        plan(tmp_path / "file" / "a.gif", width=W, height=H, fps=12, frames=N)


def test_a_file_where_frames_should_go_and_a_folder_named_like_a_video_are_refused(tmp_path):
    (tmp_path / "frames").write_text("")
    (tmp_path / "clip.mp4").mkdir()
    with pytest.raises(ExportError, match="is a file, not a folder"):
        plan(tmp_path / "frames", width=W, height=H, fps=12, frames=N)
    # an existing folder is a frame folder whatever its name; with other files it is refused
    (tmp_path / "clip.mp4" / "x").write_text("")
    with pytest.raises(ExportError, match="not frames"):
        plan(tmp_path / "clip.mp4", width=W, height=H, fps=12, frames=N)


def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("permissions do not bind here (running as root)")
        with pytest.raises(ExportError, match="is not writable"):
            plan(folder / "a.mp4", width=W, height=H, fps=12, frames=N)
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(
    ("bad", "got"),
    [
        (np.zeros((H, W + 2, 3), np.uint8), r"uint8 \(96, 162, 3\)"),
        (np.zeros((H, W, 4), np.uint8), r"uint8 \(96, 160, 4\)"),
        (np.zeros((H, W, 3), np.float32), r"float32 \(96, 160, 3\)"),
    ],
)
def test_a_wrong_frame_is_named_and_ends_the_export(tmp_path, bad, got):
    target = plan(tmp_path / "a.mp4", width=W, height=H, fps=12, frames=N)
    with pytest.raises(ExportError) as caught, open_writer(target) as writer:
        writer.write(frame(0))
        writer.write(bad)
    assert re.search(f"frame 1 is {got}, expected uint8 \\(96, 160, 3\\)", str(caught.value))
    assert listing(tmp_path) == []


def test_too_few_or_too_many_frames_are_an_error_and_leave_nothing(tmp_path):
    target = plan(tmp_path / "a.gif", width=W, height=H, fps=12, frames=3)
    with pytest.raises(ExportError, match="2 of 3 planned frames"), open_writer(target) as w:
        w.write(frame(0))
        w.write(frame(1))
    with pytest.raises(ExportError, match="more than the 3 planned"), open_writer(target) as w:
        for i in range(4):
            w.write(frame(i))
    assert listing(tmp_path) == []


def test_an_encoder_failure_reports_ffmpeg_and_removes_the_temporary(tmp_path):
    # plan() would round this; a hand-made target reaches x264 with an odd width.
    target = Target(tmp_path / "odd.mp4", "mp4", 161, 96, 12, N)
    failed = pytest.raises(ExportError, match=r"ffmpeg exited with status .*divisible by 2")
    with failed, open_writer(target) as writer:
        for i in range(N):
            writer.write(frame(i, 161, 96))
    assert listing(tmp_path) == []
