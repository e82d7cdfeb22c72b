"""Colours for light and dark backgrounds: one Style per theme, shared by window and export."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np

from flowviz.core.frames import HUES

Colour = tuple[int, int, int, int]
ARROW_CLASSES = 8


def _ramp(stops: list[tuple[int, int, int]], n: int = 256) -> np.ndarray:
    stops_a = np.asarray(stops, np.float64)
    x = np.linspace(0, 1, len(stops))
    xi = np.linspace(0, 1, n)
    rgb = np.stack([np.interp(xi, x, stops_a[:, c]) for c in range(3)], 1)
    return rgb.round().astype(np.ubyte)


def _hues(k: int, lightness: float, saturation: float) -> list[Colour]:
    out = []
    for i in range(k):
        r, g, b = colorsys.hls_to_rgb(i / k, lightness, saturation)
        out.append((round(r * 255), round(g * 255), round(b * 255), 255))
    return out


@dataclass(frozen=True)
class Style:
    """Every colour a view uses. dark selects the palette for a dark background."""

    dark: bool
    background: Colour = field(init=False)
    foreground: Colour = field(init=False)
    data: Colour = field(init=False)
    source: Colour = field(init=False)
    arrows: Colour = field(init=False)
    streamlines: Colour = field(init=False)
    trails: Colour = field(init=False)
    rings: Colour = field(init=False)
    selected: Colour = field(init=False)
    probe: Colour = field(init=False)
    particles: list[Colour] = field(init=False)
    particle_edges: list[Colour] = field(init=False)
    arrow_ramp: list[Colour] = field(init=False)
    heat_lut: np.ndarray = field(init=False)

    def __post_init__(self):
        d = self.dark
        put = object.__setattr__
        put(self, "background", (24, 26, 31, 255) if d else (255, 255, 255, 255))
        put(self, "foreground", (220, 222, 228, 255) if d else (30, 32, 38, 255))
        # Points and trails are opaque: translucent wide points blend 4x slower in raster.
        # Data are a mid grey drawn below the particles: saturated, outlined particles stay
        # visible on top of them when they converge onto the data at t = 1.
        put(self, "data", (150, 152, 165, 255) if d else (120, 122, 134, 255))
        put(self, "source", (120, 200, 255, 255) if d else (0, 120, 210, 255))
        put(self, "arrows", (240, 240, 245, 210) if d else (25, 25, 30, 200))
        put(self, "streamlines", (150, 160, 180, 255) if d else (90, 100, 120, 255))
        put(self, "trails", (70, 75, 90, 255) if d else (200, 202, 212, 255))
        put(self, "rings", (255, 196, 60, 255) if d else (210, 120, 0, 255))
        put(self, "selected", (255, 80, 60, 255) if d else (220, 30, 20, 255))
        put(self, "probe", (90, 220, 255, 255) if d else (0, 110, 200, 255))
        put(self, "particles", _hues(HUES, 0.62 if d else 0.45, 0.85))
        put(self, "particle_edges", _hues(HUES, 0.2, 0.9))
        ramp = _ramp([(70, 110, 220), (80, 200, 160), (250, 210, 60), (240, 70, 50)], ARROW_CLASSES)
        put(self, "arrow_ramp", [(*map(int, c), 230) for c in ramp])
        stops = (
            [(24, 26, 31), (38, 52, 110), (50, 120, 170), (120, 200, 150), (250, 235, 130)]
            if d
            else [(255, 255, 255), (215, 228, 248), (140, 175, 230), (80, 100, 200), (60, 30, 120)]
        )
        put(self, "heat_lut", _ramp(stops))
