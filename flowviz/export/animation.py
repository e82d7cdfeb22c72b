"""Export an animation (or one figure) of a Session: pictures -> render -> file.

The frames come from the same picture functions as the window's views (flowviz.pictures)
and are drawn by the same plot code (flowviz.render.canvas), so what is exported is what
the window shows. Frames are streamed to the writer one by one (memory stays flat).
Needs a QApplication (render/ draws with Qt): qt_app() makes an offscreen one when there
is no display.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flowviz.core import choices
from flowviz.core.text import rich_line
from flowviz.export.interrupts import deferred
from flowviz.export.writers import Cancelled
from flowviz.session import Session

DIRECTIONS = ("forward", "reverse", "loop")
THEMES = ("light", "dark")


__all__ = ["Cancelled"]  # writers' own: a stop asked for before the result is published


@dataclass(frozen=True)
class Spec:
    """What to export. views: a subset of choices.VIEWS, side by side; t0..t1 the time
    range; direction: "forward" (noise -> data), "reverse" (data -> noise) or "loop"
    (there and back); title: a heading ("" for none); time_label: "t = 0.42" under the
    views; caption: the path's formula under the views; theme: "light" or "dark"."""

    views: tuple[str, ...] = ("conditional", "marginal")
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    frames: int = 120
    t0: float = 0.0
    t1: float = 1.0
    direction: str = "forward"
    title: str = ""
    time_label: bool = True
    caption: bool = True
    theme: str = "light"

    def __post_init__(self):
        # The title is drawn as rich text: a few inline tags, one line, never a table.
        object.__setattr__(self, "title", rich_line(self.title))
        if not self.views or any(v not in choices.VIEWS for v in self.views):
            raise ValueError(f"views must be some of {', '.join(choices.VIEWS)}: {self.views}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
        if self.theme not in THEMES:
            raise ValueError(f"theme must be light or dark, got {self.theme!r}")
        if not (0.0 <= self.t0 <= 1.0 and 0.0 <= self.t1 <= 1.0 and self.t0 != self.t1):
            raise ValueError(
                f"the time range must be two different t in [0, 1]: {self.t0}, {self.t1}"
            )

    def times(self) -> np.ndarray:
        """t of each frame: (frames,), from t0 to t1 (reversed for "reverse"; "loop" goes
        there and back, ending where it began)."""
        n = self.frames
        if self.direction == "loop":
            half = np.linspace(self.t0, self.t1, n // 2 + 1)
            back = np.linspace(self.t1, self.t0, n - n // 2 + 1)[1:]
            return np.concatenate([half, back])[:n]
        ts = np.linspace(self.t0, self.t1, n)
        return ts[::-1] if self.direction == "reverse" else ts


def qt_app():
    """The QApplication, made (offscreen when there is no display) if there is none."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if headless and sys.platform.startswith("linux"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([sys.argv[0] if sys.argv else "flowviz"])
    return app


def one_torch_thread() -> None:
    """Torch on one intra-op thread: the frame math shares two cores with rendering and the
    encoder, and an oversubscribed torch pool spin-waits (measured 15x slower under load)."""
    import torch

    torch.set_num_threads(1)


def prepare(session: Session, spec: Spec, *, field=None) -> Session:
    """The Session to export: a z selected for the Conditional view, particles flowing in
    the export's direction. field: the learned field (needed for the "learned" view)."""
    from flowviz.core.frames import typical_point

    if not len(session.data):
        raise ValueError("there are no data points to show")
    if "learned" in spec.views and field is None:
        raise ValueError("the learned view needs a trained model: give a checkpoint")
    patch = {"display": {"reverse": spec.direction == "reverse"}}
    if session.selected < 0:
        patch["selected"] = typical_point(session.data)
    return session.patch(**patch)


def pictures_of(session: Session, views, *, field=None, extents: dict | None = None) -> dict:
    """{view: picture} of session; extents: {view: half-widths} each picture's grids cover
    (Composer.extents, so the field fills each exported view; default: the square)."""
    from flowviz import pictures
    from flowviz.core.frames import LIM

    out = {}
    for view in views:
        extent = (extents or {}).get(view, (LIM, LIM))
        if view == "conditional":
            out[view] = pictures.conditional(session, extent=extent)
        elif view == "marginal":
            out[view] = pictures.marginal(session, extent=extent)
        else:
            out[view] = pictures.learned(session, field, extent=extent)
    return out


def caption_of(session: Session) -> str:
    """The path's equations as rich text, e.g. "CondOT path: x_t = α_t z + β_t ε, α_t = t,
    β_t = 1 − t"."""
    from flowviz.pictures.field import path_of
    from flowviz.render.composer import rich

    path = path_of(session)
    f = path.formulas()
    return (
        f"{path.label} path: x<sub>t</sub> = α<sub>t</sub> z + β<sub>t</sub> ε, "
        f"α<sub>t</sub> = {rich(f.alpha)}, β<sub>t</sub> = {rich(f.beta)}"
    )


def composer_for(session: Session, spec: Spec, *, width: int, height: int):
    from flowviz.render.composer import Composer
    from flowviz.render.style import Style

    return Composer(
        list(spec.views),
        width=width,
        height=height,
        style=Style(dark=spec.theme == "dark"),
        title=spec.title,
        time_label=spec.time_label,
        caption=caption_of(session) if spec.caption else "",
        layout_choice=session.display.layout,
    )


def export(
    session: Session,
    spec: Spec,
    out: str | os.PathLike,
    *,
    field=None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Write the animation of session to out (the extension chooses the format: .mp4,
    .gif, .webm, or a folder of PNG frames). Everything is checked before the first frame
    (ExportError / ValueError); progress(done, total) after each frame; cancelled() is
    asked before each frame (True: stop, leave nothing: raises Cancelled)."""
    from flowviz.export.writers import open_writer, plan

    target = plan(out, width=spec.width, height=spec.height, fps=spec.fps, frames=spec.frames)
    session = prepare(session, spec, field=field)
    qt_app()
    one_torch_thread()
    composer = composer_for(session, spec, width=target.width, height=target.height)
    pics = pictures_of(session, spec.views, field=field, extents=composer.extents())
    cam = session.camera
    frames = FrameQueue(pics, spec.times())
    try:
        with open_writer(target, cancelled=cancelled) as writer:
            for i in range(spec.frames):
                if cancelled is not None and cancelled():
                    raise Cancelled
                t, views = frames.next()
                with deferred():  # no exception inside a Qt paint event (interrupts)
                    image = composer.render(views, t, center=cam.center, half=cam.half)
                writer.write(image)
                if progress is not None:
                    progress(i + 1, spec.frames)
    finally:
        frames.close()
        composer.close()
    return target.path


class FrameQueue:
    """The frame data {view: ViewFrame} of each t, computed in a thread a few frames ahead:
    the math (torch, which releases the GIL) runs on one core while the caller renders on
    the other and ffmpeg encodes. ready() says whether next() would return at once (the
    window polls it, so its event loop never waits)."""

    def __init__(self, pics: dict, times, depth: int = 3):
        from concurrent.futures import ThreadPoolExecutor

        self._pics = pics
        self._times = [float(t) for t in times]
        self._depth = depth
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="flowviz-export")
        self._pending = [self._pool.submit(self._compute, t) for t in self._times[:depth]]
        self._taken = 0

    def _compute(self, t: float):
        return t, {v: pic.at(t) for v, pic in self._pics.items()}

    def ready(self) -> bool:
        return bool(self._pending) and self._pending[0].done()

    def next(self) -> tuple[float, dict]:
        result = self._pending.pop(0).result()
        k = self._taken + self._depth
        if k < len(self._times):
            self._pending.append(self._pool.submit(self._compute, self._times[k]))
        self._taken += 1
        return result

    def close(self) -> None:
        """Drop what is queued, wait for the running computation (a thread cannot be
        interrupted), end the thread."""
        for f in self._pending:
            f.cancel()
        self._pool.shutdown(wait=True)
