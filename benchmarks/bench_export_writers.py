"""Speed and memory of the export writers alone: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_export_writers.py [--quick]

120 synthetic plot-like frames (white background, grid, a few curves, 3000 coloured dots
moving smoothly) are streamed to MP4, WebM, GIF and a PNG folder at 1280x720 and
1920x1080. Printed per format and size: frames/s end to end (making the frames included),
CPU ms per frame of our process and of ffmpeg, the frames/s that CPU time allows on the
machine's idle cores, and the output size; then the GIF/MP4 and 1080p/720p ratios (of wall
time and of CPU time), x264's presets compared at 720p, and the peak memory of a 60- and a
240-frame export (each in a fresh process, ours and ffmpeg's) to show it stays flat with the
frame count.

Goals from the export issue: the whole export (compute + render + encode) >= 40 frames/s
at 720p to MP4 on 2 cores, so the writer alone must be well above that; GIF <= 3x the MP4
time; 1080p <= 2.5x the 720p time. The machine may be shared: the load average is printed,
and CPU ms per frame is the figure that does not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flowviz.export import writers
from flowviz.export.writers import open_writer, plan

FORMATS = {"mp4": "clip.mp4", "webm": "clip.webm", "gif": "clip.gif", "png": "frames"}
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def plot_frames(width: int, height: int, n: int, dots: int = 3000, seed: int = 0):
    """Frames that look like the app's: flat background, thin lines, many small dots."""
    rng = np.random.default_rng(seed)
    start = rng.normal(size=(dots, 2)) * 0.25
    angle = rng.uniform(0, 2 * np.pi, dots)
    end = np.stack([np.cos(angle), np.sin(angle)], 1) * 0.6
    colours = (rng.uniform(0.2, 1, (dots, 3)) * [200, 120, 255]).astype(np.uint8)
    background = np.full((height, width, 3), 255, np.uint8)
    background[:: height // 8] = 225
    background[:, :: width // 12] = 225
    s = np.linspace(0, 1, 3 * width)
    cx = (0.05 + 0.9 * s) * (width - 1)
    frame = np.empty_like(background)
    for i in range(n):
        t = i / max(n - 1, 1)
        np.copyto(frame, background)
        for k in range(4):
            cy = (0.5 + 0.3 * np.sin(6 * s + k + 4 * t)) * (height - 1)
            frame[cy.astype(int), cx.astype(int)] = (40 * k, 90, 200 - 40 * k)
        p = (1 - t) * start + t * end
        xs = ((p[:, 0] * 0.5 + 0.5) * (width - 3)).clip(0, width - 3).astype(int)
        ys = ((p[:, 1] * 0.5 + 0.5) * (height - 3)).clip(0, height - 3).astype(int)
        for dy in range(3):
            for dx in range(3):
                frame[ys + dy, xs + dx] = colours
        yield frame


def ratios(a: dict, b: dict) -> str:
    return f"{a['wall'] / b['wall']:.2f} (CPU {a['cpu_ms'] / b['cpu_ms']:.2f})"


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir())
    return path.stat().st_size


def export(folder: Path, fmt: str, width: int, height: int, n: int) -> dict:
    target = plan(folder / FORMATS[fmt], width=width, height=height, fps=30, frames=n)
    ours, theirs = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open_writer(target) as writer:
        for frame in plot_frames(width, height, n):
            writer.write(frame)
    wall = time.perf_counter() - start
    return {
        "fps": n / wall,
        "wall": wall,
        "ours_ms": (cpu_seconds(resource.RUSAGE_SELF) - ours) / n * 1e3,
        "ffmpeg_ms": (cpu_seconds(resource.RUSAGE_CHILDREN) - theirs) / n * 1e3,
        "mb": size_of(target.path) / 1e6,
    }


def frames_alone(width: int, height: int, n: int) -> float:
    start = time.perf_counter()
    for _ in plot_frames(width, height, n):
        pass
    return n / (time.perf_counter() - start)


def child(fmt: str, n: int) -> None:
    """One export in this fresh process; prints our and ffmpeg's peak RSS in MiB."""
    with tempfile.TemporaryDirectory() as folder:
        export(Path(folder), fmt, 1280, 720, n)
    ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    theirs = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"ours": ours, "ffmpeg": theirs}))


def peak_rss(fmt: str, n: int) -> dict:
    run = subprocess.run(
        [sys.executable, __file__, "--child", fmt, str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 frames, 720p only")
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "FRAMES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    n = 30 if args.quick else 120
    sizes = {"720p": SIZES["720p"]} if args.quick else SIZES
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    cores = os.cpu_count() or 1
    print(f"{cores} CPUs, load average {load}; x264 preset {writers.MP4_PRESET}; {n} frames")
    results: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (w, h) in sizes.items():
            print(f"\n{label} ({w}x{h}): making the frames alone {frames_alone(w, h, n):.0f}/s")
            print(
                f"  {'format':6} {'frames/s':>9} {'ours ms/f':>10} {'ffmpeg ms/f':>12} "
                f"{'CPU-bound/s':>12} {'MB':>7}"
            )
            for fmt in FORMATS:
                r = results[label, fmt] = export(Path(tmp), fmt, w, h, n)
                r["cpu_ms"] = r["ours_ms"] + r["ffmpeg_ms"]
                print(
                    f"  {fmt:6} {r['fps']:9.1f} {r['ours_ms']:10.1f} {r['ffmpeg_ms']:12.1f} "
                    f"{1000 * cores / r['cpu_ms']:12.0f} {r['mb']:7.2f}"
                )
    print("\nratios, wall time and CPU time (goals GIF/MP4 <= 3, 1080p/720p <= 2.5):")
    for label in sizes:
        gif, mp4 = results[label, "gif"], results[label, "mp4"]
        print(f"  GIF/MP4 at {label}: {ratios(gif, mp4)}")
    if "1080p" in sizes:
        for fmt in FORMATS:
            print(f"  1080p/720p {fmt}: {ratios(results['1080p', fmt], results['720p', fmt])}")
        print(f"\nx264 presets at 720p (MP4, crf {writers.MP4_CRF}):")
        chosen = writers.MP4_PRESET
        with tempfile.TemporaryDirectory() as tmp:
            for preset in ("ultrafast", "superfast", "veryfast", "faster"):
                writers.MP4_PRESET = preset
                r = export(Path(tmp), "mp4", 1280, 720, n)
                mark = "  <- used" if preset == chosen else ""
                print(
                    f"  {preset:10} ffmpeg {r['ffmpeg_ms']:5.1f} ms/frame  {r['mb']:5.2f} MB  "
                    f"({r['fps']:.0f} frames/s here){mark}"
                )
        writers.MP4_PRESET = chosen
    print("\npeak RSS at 720p, MiB (fresh process each): 60 frames -> 240 frames")
    for fmt in FORMATS:
        few, many = peak_rss(fmt, 60), peak_rss(fmt, 240)
        print(
            f"  {fmt:5} ours {few['ours']:6.0f} -> {many['ours']:6.0f} "
            f"({many['ours'] - few['ours']:+.0f})   ffmpeg {few['ffmpeg']:6.0f} -> "
            f"{many['ffmpeg']:6.0f} ({many['ffmpeg'] - few['ffmpeg']:+.0f})"
        )


if __name__ == "__main__":
    main()
