"""FrameDrawer: puts ViewFrames on a FieldScene, the one drawing path of the window's
views and the exporter, so both show the same picture.

A view redraws many times a second while most of a frame stays the same (the field frame
between time steps, the data always): each part is handed to the scene only when it
changed (arrays by identity; particle starts by value, as their prefix grows).
"""

from __future__ import annotations

import numpy as np

from flowviz.core.frames import ViewFrame
from flowviz.render.scene import FieldScene

_EMPTY = np.zeros((0, 2), np.float32)
_UNSET = object()


class FrameDrawer:
    def __init__(self, scene: FieldScene):
        self.scene = scene
        self.reset()

    def reset(self) -> None:
        """Forget what was drawn (the next draw sends every part)."""
        self._field = self._data = self._source = self._z = _UNSET
        self._starts: np.ndarray | None = None
        self._rings = _UNSET
        self._label = None

    def draw(self, frame: ViewFrame | None) -> None:
        """Show frame (None: an empty view)."""
        s = self.scene
        if frame is None:
            if self._field is not None:
                s.show_frame(None)
                self._field = None
            s.show_particles(_EMPTY)
            self._show_rings(None, None)
            return
        if frame.arrows != s.mode:
            s.set_arrow_mode(frame.arrows)
            self._field = _UNSET
        if frame.heat_label != self._label:
            self._label = frame.heat_label
            title, low, high = frame.heat_label
            s.set_colorbar(low, high, title)
        if frame.field is not self._field:
            self._field = frame.field
            s.show_frame(frame.field)
        if frame.data is not self._data or frame.source is not self._source:
            self._data, self._source = frame.data, frame.source
            s.show_data(frame.data, frame.source)
        starts = frame.starts
        if self._starts is None or not np.array_equal(starts, self._starts):
            self._starts = starts
            s.set_particle_starts(starts)
        s.show_particles(frame.particles, frame.trails)
        self._show_rings(frame.rings, frame.z)

    def _show_rings(self, rings, z) -> None:
        if rings is not self._rings or z is not self._z:
            self._rings, self._z = rings, z
            self.scene.show_rings(rings, z)
