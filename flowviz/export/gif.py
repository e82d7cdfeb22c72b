"""GIF: one palette for the whole animation, made by rule from the style; what an export
will weigh and take (estimate, seconds; animation.fit_gif measures a GIF's own frames).

A palette per frame (ffmpeg's palettegen on each frame) re-quantises the whole picture
every frame, so nothing stays equal between frames and every frame is stored in full;
the heat layer's smooth ramp then shares 256 colours with everything else and bands.
One palette for all frames keeps unchanged pixels unchanged (stored as transparent, only
the rectangle that changed: writers.GIF_PALETTE_USE), and made by rule it is the same
for every frame without looking at any: the style's solid colours, their antialiasing
blends with the background, and the rest for the heat ramp (about 170 of its 256 steps,
Bayer-dithered: no visible bands).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

#: (fps, scale) fit_gif tries, best first: frame rate down to 15 before the size, then
#: both (under 12.5 frames/s the motion stutters; under half size the text is unreadable).
LADDER = (
    (25, 1.0), (20, 1.0), (15, 1.0), (25, 0.75), (20, 0.75), (15, 0.75), (12.5, 0.75),
    (15, 0.5), (12.5, 0.5), (10, 0.5),
)  # fmt: skip
#: Bytes per pixel of a frame, measured on a gallery session at 1280x720, three views,
#: 30 frames/s (estimate() says what a file will weigh before anything is made; fit_gif
#: measures frames of the export itself).
BYTES_PER_PIXEL = {"mp4": 0.04, "webm": 0.05, "gif": 0.12, "png": 0.5}
#: Seconds of two cores to make a 1280x720 frame end to end (bench_export), and to compute
#: the particles' paths per 1,000 particles and view, before the first frame.
SECONDS_PER_FRAME, SECONDS_PER_PATHS = {"gif": 0.05}, 0.1


def _blend(a, b, w: float) -> tuple[int, int, int]:
    return tuple(round((1 - w) * x + w * y) for x, y in zip(a[:3], b[:3], strict=True))


def palette(style) -> np.ndarray:
    """(255, 3) uint8: the colours every frame of style is quantised to (one more index
    is kept transparent for unchanged pixels)."""
    bg, fg = style.background, style.foreground
    solid = [bg, fg, style.data, style.source, style.trails, style.streamlines, style.rings]
    solid += [style.selected, style.probe]
    colours = [_blend(fg, bg, w) for w in np.linspace(0, 1, 14)]  # text and axes
    for c in solid[2:]:
        colours += [_blend(c, bg, 0.0), _blend(c, bg, 0.5)]
    for c in (style.arrows, *style.arrow_ramp):  # translucent: as drawn on the background
        colours.append(_blend(bg, c, c[3] / 255))
    for c, e in zip(style.particles, style.particle_edges, strict=True):
        colours += [c[:3], e[:3], _blend(c, e, 0.5)]
    unique = list(dict.fromkeys(tuple(int(v) for v in c[:3]) for c in colours))
    room = 255 - len(unique)
    lut = np.asarray(style.heat_lut, np.int64)[:, :3]
    heat = lut[np.round(np.linspace(0, len(lut) - 1, room)).astype(int)]
    out = np.concatenate([np.asarray(unique, np.int64).reshape(-1, 3), heat])
    return out.astype(np.uint8)


def write_palette(style, path: str | Path) -> Path:
    """The palette as the 16 x 16 RGBA PNG ffmpeg's paletteuse reads (the last entry
    transparent)."""
    from PySide6.QtGui import QImage

    rgb = palette(style)
    rgba = np.zeros((256, 4), np.uint8)
    rgba[:255, :3], rgba[:255, 3] = rgb, 255
    bgra = np.ascontiguousarray(rgba[:, [2, 1, 0, 3]]).reshape(16, 16, 4)
    img = QImage(bgra.data, 16, 16, 64, QImage.Format.Format_ARGB32).copy()
    if not img.save(str(path), "PNG"):
        raise OSError(f"could not write the GIF palette {path}")
    return Path(path)


def encoded_bytes(frames: list[np.ndarray], palette_png: str | Path, fps: float) -> int:
    """Bytes of frames (each (h, w, 3) uint8) as a GIF with the palette (ffmpeg, in
    memory: nothing is written)."""
    from flowviz.export.writers import GIF_PALETTE_USE, _ffmpeg

    h, w, _ = frames[0].shape
    cmd = [
        *[_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo"],
        *["-pix_fmt", "rgb24", "-video_size", f"{w}x{h}", "-framerate", f"{fps:g}"],
        *["-i", "pipe:0", "-i", str(palette_png), "-lavfi", GIF_PALETTE_USE],
        *["-f", "gif", "pipe:1"],
    ]
    raw = b"".join(np.ascontiguousarray(f).tobytes() for f in frames)
    out = subprocess.run(cmd, input=raw, capture_output=True, check=True)
    return len(out.stdout)


def estimate(fmt: str, *, width: int, height: int, frames: int) -> int:
    """Bytes an export of this size will take, roughly (BYTES_PER_PIXEL)."""
    return round(BYTES_PER_PIXEL.get(fmt, 0.1) * width * height * frames)


def seconds(fmt: str, *, width: int, height: int, frames: int, particles: int, views: int):
    """Seconds an export will take on two idle cores, roughly."""
    per_frame = SECONDS_PER_FRAME.get(fmt, 1 / 30) * width * height / (1280 * 720)
    return frames * per_frame + SECONDS_PER_PATHS * particles / 1000 * views
