"""AppState: the one model every view and panel reads; it knows nothing of widgets.

Arrays handed out are read-only numpy copies, so a worker thread may keep one while the
user draws. Setters emit a signal only when something changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from flowviz.core.paths import GaussianPath


def frozen(points) -> np.ndarray:
    """A read-only float32 (n, 2) copy."""
    arr = np.array(points, dtype=np.float32).reshape(-1, 2)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class Display:
    """How the views draw. arrows: "length" | "colour" | "streamlines" | "off";
    heat: "density" | "speed" | "off"; arrow_res: arrows per side; particles: count;
    trails: steps of trail (0 = none); steps: time steps of the cached path (t_k = k/steps);
    reverse: particles start at the data (t = 1) and flow back to noise."""

    arrows: str = "length"
    heat: str = "density"
    arrow_res: int = 21
    particles: int = 3000
    trails: int = 6
    steps: int = 100
    reverse: bool = False
    show_data: bool = True


class AppState(QObject):
    """The app model (the seam other panels code against).

    data: (N, 2) float32 read-only target points; source: None (standard Gaussian) or
    (M, 2) read-only drawn source points; path: the GaussianPath (None until the math core
    has loaded in the background: path_changed fires when it arrives); t: time in [0, 1];
    selected: index of the data point z shown in the conditional view, or -1;
    display: the Display options; playing: whether the animation runs (views then draw
    cached frames instead of asking for exact ones).
    """

    data_changed = Signal()
    source_changed = Signal()
    path_changed = Signal()
    time_changed = Signal(float)
    selected_changed = Signal(int)
    display_changed = Signal()
    playing_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._data = frozen(np.zeros((0, 2)))
        self._source: np.ndarray | None = None
        self._path: GaussianPath | None = None
        self._t = 0.0
        self._selected = -1
        self._display = Display()
        self._playing = False

    @property
    def display(self) -> Display:
        return self._display

    def set_display(self, **changes) -> None:
        """Change some Display fields, e.g. set_display(particles=10000)."""
        new = replace(self._display, **changes)
        if new != self._display:
            self._display = new
            self.display_changed.emit()

    @property
    def playing(self) -> bool:
        return self._playing

    def set_playing(self, playing: bool) -> None:
        if bool(playing) != self._playing:
            self._playing = bool(playing)
            self.playing_changed.emit(self._playing)

    @property
    def data(self) -> np.ndarray:
        return self._data

    def set_data(self, points) -> None:
        self._data = frozen(points)
        if self._selected >= len(self._data):
            self._selected = -1
            self.selected_changed.emit(-1)
        self.data_changed.emit()

    @property
    def source(self) -> np.ndarray | None:
        return self._source

    def set_source(self, points) -> None:
        """points (M, 2), or None for the standard Gaussian source."""
        self._source = None if points is None else frozen(points)
        self.source_changed.emit()

    @property
    def path(self) -> GaussianPath | None:
        return self._path

    def set_path(self, path: GaussianPath) -> None:
        self._path = path
        self.path_changed.emit()

    @property
    def t(self) -> float:
        return self._t

    def set_t(self, t: float) -> None:
        t = min(max(float(t), 0.0), 1.0)
        if t != self._t:
            self._t = t
            self.time_changed.emit(t)

    @property
    def selected(self) -> int:
        return self._selected

    def set_selected(self, index: int) -> None:
        index = int(index) if 0 <= index < len(self._data) else -1
        if index != self._selected:
            self._selected = index
            self.selected_changed.emit(index)

    def points(self, which: str) -> np.ndarray:
        """The point set a drawing mode edits: "target" or "source" (empty if Gaussian)."""
        if which == "target":
            return self._data
        return self._source if self._source is not None else frozen(np.zeros((0, 2)))

    def set_points(self, which: str, points) -> None:
        if which == "target":
            self.set_data(points)
        else:
            self.set_source(None if points is None or len(points) == 0 else points)
