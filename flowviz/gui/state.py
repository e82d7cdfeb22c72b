"""AppState: the window's one model, a Session, and the signals that say what changed.

Every change is a patch through update() (the named setters are shorthands for it): the
Session is replaced whole, then one signal per changed part is emitted, so a slot always
reads a consistent Session. A part emits only when its value changed (points compare by
identity: setting the data to a new array is a change). Widgets bind both ways: they
call update() and listen to their part's signal (DisplayPanel is the model).

Arrays handed out are the Session's read-only float32 arrays, so a worker thread may keep
one while the user draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from flowviz.session import EMPTY, Display, PathSpec, Session, frozen_points

if TYPE_CHECKING:
    from flowviz.core.paths import GaussianPath

__all__ = ["AppState", "Display", "frozen_points"]


class AppState(QObject):
    """session: the current Session. path: its GaussianPath (None until the math core has
    loaded in the background; path_changed fires when it arrives). playing: whether the
    animation runs (views then draw cached frames instead of asking for exact ones); it is
    not part of the Session. notice(str): a patch had to adjust something (e.g. a drawn
    source raised sigma_min), said once for the status bar."""

    session_changed = Signal(object)  # frozenset of the changed Session field names
    data_changed = Signal()
    source_changed = Signal()
    origin_changed = Signal()
    path_changed = Signal()
    time_changed = Signal(float)
    selected_changed = Signal(int)
    display_changed = Signal()
    learned_changed = Signal()
    training_changed = Signal()
    camera_changed = Signal()
    views_changed = Signal()
    playing_changed = Signal(bool)
    notice = Signal(str)

    def __init__(self, parent=None, session: Session | None = None):
        super().__init__(parent)
        self._session = session or Session()
        self._path: GaussianPath | None = None
        self._core_ready = False
        self._playing = False

    # ------------------------------------------------------------ the one way to change

    @property
    def session(self) -> Session:
        return self._session

    def update(self, **changes) -> frozenset[str]:
        """Apply a Session patch (see Session.patch); returns the names that changed.
        ValueError on a bad value, with the state unchanged."""
        old = self._session
        new = old.patch(**changes)
        return self.replace(new)

    def replace(self, new: Session) -> frozenset[str]:
        """Make new the current Session (a session file, an undo step)."""
        old = self._session
        changed = new.changed(old)
        if not changed:
            return changed
        self._session = new
        if "path" in changed:
            if self._core_ready:
                self._path = _make_path(new.path)
            if "source" in changed and new.source is not None and old.path.sigma_min <= 0:
                self.notice.emit(
                    f"A drawn source needs σ_min > 0: set σ_min = {new.path.sigma_min:g}."
                )
        for name, signal in (
            ("data", self.data_changed),
            ("source", self.source_changed),
            ("origin", self.origin_changed),
            ("path", self.path_changed),
            ("display", self.display_changed),
            ("learned", self.learned_changed),
            ("training", self.training_changed),
            ("camera", self.camera_changed),
            ("views", self.views_changed),
        ):
            if name in changed and (name != "path" or self._core_ready):
                signal.emit()
        if "selected" in changed:
            self.selected_changed.emit(new.selected)
        if "t" in changed:
            self.time_changed.emit(new.t)
        self.session_changed.emit(changed)
        return changed

    def set_core_ready(self) -> None:
        """The math core has loaded: build the path and say so."""
        if not self._core_ready:
            self._core_ready = True
            self._path = _make_path(self._session.path)
            self.path_changed.emit()

    # ------------------------------------------------------------ reading

    @property
    def data(self) -> np.ndarray:
        return self._session.data

    @property
    def source(self) -> np.ndarray | None:
        return self._session.source

    @property
    def path(self) -> GaussianPath | None:
        return self._path

    @property
    def t(self) -> float:
        return self._session.t

    @property
    def selected(self) -> int:
        return self._session.selected

    @property
    def display(self) -> Display:
        return self._session.display

    @property
    def playing(self) -> bool:
        return self._playing

    def points(self, which: str) -> np.ndarray:
        """The point set a drawing mode edits: "target" or "source" (empty if Gaussian)."""
        if which == "target":
            return self.data
        return self.source if self.source is not None else EMPTY

    # ------------------------------------------------------------ shorthands

    def set_playing(self, playing: bool) -> None:
        if bool(playing) != self._playing:
            self._playing = bool(playing)
            self.playing_changed.emit(self._playing)

    def set_display(self, **changes) -> None:
        """Change some Display fields, e.g. set_display(particles=10000)."""
        self.update(display=changes)

    def set_data(self, points) -> None:
        self.update(data=frozen_points(points))

    def set_source(self, points) -> None:
        """points (M, 2), or None for the standard Gaussian source."""
        self.update(source=None if points is None else frozen_points(points))

    def set_path(self, spec: PathSpec) -> None:
        self.update(path=spec)

    def set_t(self, t: float) -> None:
        self.update(t=min(max(float(t), 0.0), 1.0))

    def set_selected(self, index: int) -> None:
        self.update(selected=int(index) if 0 <= index < len(self.data) else -1)

    def set_points(self, which: str, points) -> None:
        if which == "target":
            self.set_data(points)
        else:
            self.set_source(None if points is None or len(points) == 0 else points)


def _make_path(spec: PathSpec) -> GaussianPath:
    from flowviz.core import paths

    return paths.make(spec.name, sigma_min=spec.sigma_min, n=spec.n)
