"""Export an animation (or one figure) of a Session: pictures -> render -> file.

The frames come from the same picture functions as the window's views (flowviz.pictures)
and are drawn by the same plot code (flowviz.render.canvas), so what is exported is what
the window shows. Frames are streamed to the writer one by one (memory stays flat).
Needs a QApplication (render/ draws with Qt): qt_app() makes an offscreen one when there
is no display.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
#: region choices: the window's (each view's, or the Session camera's square without a
#: window), or fitted to everything drawn; or a rectangle (x0, x1, y0, y1)
REGIONS = ("window", "fit")
#: share of the fitted rectangle added on each side (markers and trails stay inside)
FIT_PAD = 0.04
#: Frames handed to the encoder's pipe on a thread of their own while the next is drawn
#: (0: written on the drawing thread, as before; bench_export compares the two).
WRITE_AHEAD = 2
#: fit_gif's estimate (two frames) ran 10-18 % under the file (a gallery session, moons): it
#: must fit with this factor
FIT_MARGIN = 1.25


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
    region: str | tuple[float, float, float, float] = "window"

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
        if isinstance(self.region, str):
            if self.region not in REGIONS:
                raise ValueError(f"region must be window, fit or x0,x1,y0,y1: {self.region!r}")
        else:
            x0, x1, y0, y1 = (float(v) for v in self.region)
            if not (all(map(math.isfinite, (x0, x1, y0, y1))) and x0 < x1 and y0 < y1):
                raise ValueError(f"a region needs finite x0 < x1 and y0 < y1: {self.region}")

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
    """The Session to export: the window's state (its selected z or none, layers,
    particles, trails), particles flowing in the export's direction. field: the learned
    field (needed for the "learned" view)."""
    if not len(session.data):
        raise ValueError("there are no data points to show")
    if "learned" in spec.views and field is None:
        raise ValueError("the learned view needs a trained model: give a checkpoint")
    return session.patch(display={"reverse": spec.direction == "reverse"})


def camera_region(session: Session) -> tuple[float, float, float, float]:
    """The Session camera's square (x0, x1, y0, y1): what a view shows before any window
    gave it a shape."""
    (cx, cy), h = session.camera.center, session.camera.half
    return (cx - h, cx + h, cy - h, cy + h)


def fit_region(session: Session, pics: dict) -> tuple[float, float, float, float]:
    """A rectangle around everything drawn: data, source, and the particles' whole paths
    (every time step), padded by FIT_PAD on each side."""
    import numpy as np

    parts = [session.data]
    if session.source is not None:
        parts.append(session.source)
    for pic in pics.values():
        if pic is None:
            continue
        memo = getattr(pic, "_memo", None)
        if memo is not None:  # a field picture: its particles' paths (kept for at())
            traj = memo.get("traj")
            if traj is None:
                traj = memo["traj"] = pic.trajectories(pic.starts)
            parts.append(traj.reshape(-1, 2))
        else:  # the conditional picture: its particles at every time step
            parts += [pic.at(float(t)).particles for t in np.linspace(0, 1, 21)]
    pts = np.concatenate([np.asarray(p, np.float64).reshape(-1, 2) for p in parts])
    pts = pts[np.isfinite(pts).all(1)]
    lo, hi = pts.min(0), pts.max(0)
    pad = FIT_PAD * max(float((hi - lo).max()), 1e-3)
    return (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)


def regions_of(session: Session, spec: Spec, pics: dict | None = None, window=None) -> dict:
    """{view: (x0, x1, y0, y1)} each exported view shows, before it is fitted to its panel:
    window: {view: rectangle} the window's views show now (region "window"); without it
    the camera's square; "fit" needs pics (pictures_of)."""
    if spec.region == "fit":
        rect = fit_region(session, pics or {})
        return {v: rect for v in spec.views}
    if spec.region != "window":
        return {v: tuple(float(x) for x in spec.region) for v in spec.views}
    cam = camera_region(session)
    return {v: tuple((window or {}).get(v, cam)) for v in spec.views}


def pictures_of(session: Session, views, *, field=None, extents: dict | None = None) -> dict:
    """{view: picture} of session; extents: {view: half-widths} each picture's grids cover
    (Composer.extents, so the field fills each exported view; default: the square)."""
    from flowviz import pictures
    from flowviz.core.frames import LIM

    out = {}
    for view in views:
        extent = (extents or {}).get(view, (LIM, LIM))
        if view == "conditional":
            pic = pictures.conditional(session, extent=extent)
            out[view] = pic if pic is not None else PointsOnly(session)
        elif view == "marginal":
            out[view] = pictures.marginal(session, extent=extent)
        else:
            out[view] = pictures.learned(session, field, extent=extent)
    return out


class PointsOnly:
    """What the Conditional view shows while no z is selected: the data (and drawn
    source) points alone, as the window draws them."""

    def __init__(self, session: Session):
        import numpy as np

        d = session.display
        self.data = session.data if d.show_data else np.zeros((0, 2), np.float32)
        self.source = session.source if d.show_data else None
        self.arrows = d.arrows

    def at(self, t: float):
        import numpy as np

        from flowviz.core.frames import ViewFrame

        none = np.zeros((0, 2), np.float32)
        return ViewFrame(
            t=float(t), field=None, arrows=self.arrows, particles=none, starts=none,
            trails=None, data=self.data, source=self.source,
        )  # fmt: skip


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


def composer_for(
    session: Session, spec: Spec, *, width: int, height: int, regions: dict | None = None
):
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
        regions=regions,
    )


def setup(session: Session, spec: Spec, *, width: int, height: int, field=None, window=None):
    """(composer, pictures) of an export: the regions (Spec.region; window: {view:
    rectangle} the window's views show), each view's picture made for what its panel
    shows. The pictures of a "fit" region keep the particles' paths computed to fit it."""
    composer = composer_for(session, spec, width=width, height=height)
    try:
        pics = None
        if spec.region == "fit":
            pics = pictures_of(session, spec.views, field=field, extents=composer.extents())
        composer.set_regions(regions_of(session, spec, pics, window))
        fitted = pictures_of(session, spec.views, field=field, extents=composer.extents())
        for view, pic in (pics or {}).items():  # the paths computed for the fit stay
            if hasattr(pic, "_memo") and "traj" in pic._memo:
                fitted[view]._memo["traj"] = pic._memo["traj"]
    except BaseException:
        composer.close()
        raise
    return composer, fitted


@contextlib.contextmanager
def with_palette(target, spec: Spec):
    """target with its GIF palette (gif.write_palette of the export's style) in a temporary
    folder for as long as the export runs; other formats as they are."""
    if target.format != "gif":
        yield target
        return
    from flowviz.export.gif import write_palette
    from flowviz.render.style import Style

    folder = Path(tempfile.mkdtemp(prefix="flowviz-palette-"))
    try:
        png = write_palette(Style(dark=spec.theme == "dark"), folder / "palette.png")
        yield dataclasses.replace(target, palette=str(png))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def export(
    session: Session,
    spec: Spec,
    out: str | os.PathLike,
    *,
    field=None,
    window: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Write the animation of session to out (the extension chooses the format: .mp4,
    .gif, .webm, or a folder of PNG frames); window: {view: (x0, x1, y0, y1)} the
    window's views show (for region "window"). Everything is checked before the first frame
    (ExportError / ValueError); progress(done, total) after each frame; cancelled() is
    asked before each frame (True: stop, leave nothing: raises Cancelled)."""
    from flowviz.export.writers import open_writer, plan

    target = plan(out, width=spec.width, height=spec.height, fps=spec.fps, frames=spec.frames)
    session = prepare(session, spec, field=field)
    qt_app()
    one_torch_thread()
    composer, pics = setup(
        session, spec, width=target.width, height=target.height, field=field, window=window
    )
    frames = FrameQueue(pics, spec.times())
    try:
        with (
            with_palette(target, spec) as target,
            open_writer(target, cancelled=cancelled) as writer,
            ThreadPoolExecutor(1, thread_name_prefix="flowviz-write") as io,
        ):
            writes: deque = deque()
            for i in range(spec.frames):
                if cancelled is not None and cancelled():
                    raise Cancelled
                t, views = frames.next()
                with deferred():  # no exception inside a Qt paint event (interrupts)
                    img = composer.render(views, t)
                if WRITE_AHEAD:  # the pipe may block while ffmpeg catches up: not us
                    while len(writes) >= WRITE_AHEAD:
                        writes.popleft().result()  # an encoder error surfaces here
                    writes.append(io.submit(writer.write, img))
                else:
                    writer.write(img)
                if progress is not None:
                    progress(i + 1, spec.frames)
            for w in writes:
                w.result()
    finally:
        frames.close()
        composer.close()
    return target.path


def fit_gif(session: Session, spec: Spec, max_bytes: float, *, field=None, window=None):
    """(spec, bytes): the first (fps, scale) of gif.LADDER, at most spec's own, at which
    the GIF is estimated to fit max_bytes (the same duration), with that estimate; the
    last one tried if none fits. The estimate encodes frames of this export: the middle
    one in full, and its change to the next one at that frame rate."""
    from flowviz.export.gif import LADDER, encoded_bytes, write_palette
    from flowviz.render.style import Style

    qt_app()
    duration = spec.frames / spec.fps
    ladder = [(f, s) for f, s in LADDER if f <= spec.fps] or [(spec.fps, LADDER[-1][1])]
    session = prepare(session, spec, field=field)
    paths: dict = {}
    data: dict = {}  # frame data by (view, t, extent): the same for every size of one shape
    mid = (spec.t0 + spec.t1) / 2
    step = (spec.t1 - spec.t0) * (-1 if spec.direction == "reverse" else 1)
    folder = Path(tempfile.mkdtemp(prefix="flowviz-fit-"))
    try:
        png = write_palette(Style(dark=spec.theme == "dark"), folder / "palette.png")
        for fps, scale in ladder:
            w, h = (max(16, 2 * round(v * scale / 2)) for v in (spec.width, spec.height))
            n = max(2, round(duration * fps))
            cand = dataclasses.replace(spec, width=w, height=h, fps=float(fps), frames=n)
            composer, pics = setup(session, cand, width=w, height=h, field=field, window=window)
            try:
                for view, pic in pics.items():  # the paths do not depend on the size
                    memo = getattr(pic, "_memo", None)
                    if memo is not None:
                        if view not in paths:
                            paths[view] = pic.trajectories(pic.starts)
                        memo["traj"] = paths[view]
                extents = composer.extents()
                a, b = (
                    composer.render(_cached(data, pics, extents, t), t)
                    for t in (mid, mid + step / max(n - 1, 1))
                )
            finally:
                composer.close()
            one = encoded_bytes([a], png, fps)
            size = one + (n - 1) * (encoded_bytes([a, b], png, fps) - one)
            if size * FIT_MARGIN <= max_bytes:
                break
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return cand, round(size)


def _cached(cache: dict, pics: dict, extents: dict, t: float) -> dict:
    """{view: ViewFrame} at t, from cache where a picture of the same view and extent gave
    it already (pictures of one Session differ only by their extents)."""
    out = {}
    for view, pic in pics.items():
        key = (view, round(t, 9), tuple(round(e, 6) for e in extents[view]))
        if key not in cache:
            cache[key] = pic.at(t)
        out[view] = cache[key]
    return out


class FrameQueue:
    """The frame data {view: ViewFrame} of each t, computed a few frames ahead off the
    caller's thread: the math (torch, which releases the GIL) runs on one core while the
    caller renders on the other and ffmpeg encodes. ready() says whether next() would
    return at once (the window polls it, so its event loop never waits). submit(fn, t) ->
    Future runs fn(t) elsewhere (default: a thread of its own; the window passes its frame
    worker at a priority below its views', so an export never holds up what it shows)."""

    def __init__(self, pics: dict, times, depth: int = 3, submit=None):
        self._pics = pics
        self._times = [float(t) for t in times]
        self._depth = depth
        self._pool = None
        if submit is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="flowviz-export")
            submit = self._pool.submit
        self._submit = submit
        self._pending = [submit(self._compute, t) for t in self._times[:depth]]
        self._taken = 0

    def _compute(self, t: float):
        return t, {v: pic.at(t) for v, pic in self._pics.items()}

    def ready(self) -> bool:
        return bool(self._pending) and self._pending[0].done()

    def next(self) -> tuple[float, dict]:
        result = self._pending.pop(0).result()
        k = self._taken + self._depth
        if k < len(self._times):
            self._pending.append(self._submit(self._compute, self._times[k]))
        self._taken += 1
        return result

    def close(self) -> None:
        """Drop what is queued, wait for the running computation (a thread cannot be
        interrupted), end the thread."""
        for f in self._pending:
            f.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
