"""Export from the window: File → Export animation… (Ctrl+E), Save figure…, Export
samples…. install_export(window) adds them (the app start installs it).

An animation is made by flowviz.export from the window's Session, regions and state, so it
is the picture the window shows. Its frame data is computed on the window's frame worker
below every job of the views (an export once starved them: its own thread outranked the
niced worker, so after a click the views showed only their data until it ended), each
frame is drawn on the UI thread between events (a few milliseconds at a time) on canvases
of its own and handed to the encoder's own thread, so the window stays responsive and
unchanged; Cancel removes everything written.
"""

from __future__ import annotations

import contextlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QProgressDialog, QPushButton

#: ms of UI time a tick may spend drawing frames before the event loop runs again
TICK_BUDGET_MS = 30
#: The export's frame data is computed on the window's frame worker below every view's
#: job (field_view.PRIORITY: 0-3): the views the user looks at always go first.
EXPORT_PRIORITY = 10.0
FIGURE_SIZES = ("1600x900", "1280x720", "1920x1080", "1080x1080", "800x800")


def install_export(window) -> ExportController:
    return ExportController(window)


class AnimationJob(QObject):
    """One export in progress. progress(done, total); ended(path or None, error or "")."""

    progress = Signal(int, int)
    ended = Signal(object, str)

    def __init__(
        self, session, spec, out: str, *, field=None, window=None, worker=None, parent=None
    ):
        super().__init__(parent)
        self.session, self.spec, self.out, self.field = session, spec, out, field
        self.window_regions = window  # {view: (x0, x1, y0, y1)} the window shows
        self.worker = worker  # the window's FrameWorker (None: a thread of the export's)
        self.done = 0
        self._writer = self._frames = self._composer = self._palette = None
        self._io = ThreadPoolExecutor(1, thread_name_prefix="flowviz-encode")
        self._writes: deque = deque()
        self._timer = QTimer(self, interval=5)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        """Check everything, then start (ExportError/ValueError before any work)."""
        from flowviz.export import animation
        from flowviz.export.writers import open_writer, plan

        spec = self.spec
        target = plan(
            self.out, width=spec.width, height=spec.height, fps=spec.fps, frames=spec.frames
        )
        self._palette = contextlib.ExitStack()
        self.target = target = self._palette.enter_context(animation.with_palette(target, spec))
        session = animation.prepare(self.session, spec, field=self.field)
        self._composer, pics = animation.setup(
            session,
            spec,
            width=target.width,
            height=target.height,
            field=self.field,
            window=self.window_regions,
        )
        submit = self._on_worker if self.worker is not None else None
        self._frames = animation.FrameQueue(pics, spec.times(), submit=submit)
        self._writer = open_writer(target)
        self._timer.start()

    def _on_worker(self, fn, *args) -> Future:
        """fn(*args) on the window's frame worker, after every job of its views; a Future
        of its result (set on the UI thread, where the tick polls it)."""
        future: Future = Future()
        self.worker.submit(
            lambda: fn(*args),
            future.set_result,
            priority=EXPORT_PRIORITY,
            alive=lambda: not future.cancelled(),
            owner=self,
            on_failed=lambda message: future.set_exception(RuntimeError(message)),
        )
        return future

    def cancel(self) -> None:
        """Stop and leave no file (an existing one of that name stays as it was)."""
        self._finish(None, "")

    def _tick(self) -> None:
        from PySide6.QtCore import QElapsedTimer

        clock = QElapsedTimer()
        clock.start()
        try:
            while self.done < self.spec.frames and clock.elapsed() < TICK_BUDGET_MS:
                while self._writes and self._writes[0].done():
                    self._writes.popleft().result()  # an encoder error surfaces here
                if len(self._writes) >= 2 or not self._frames.ready():
                    return
                t, views = self._frames.next()
                img = self._composer.render(views, t)
                self._writes.append(self._io.submit(self._writer.write, img))
                self.done += 1
                self.progress.emit(self.done, self.spec.frames)
            if self.done == self.spec.frames:
                for f in self._writes:
                    f.result()
                self._writes.clear()
                path = self._writer.close()
                self._finish(path, "")
        except (OSError, ValueError, RuntimeError) as exc:
            self._finish(None, str(exc))

    def _finish(self, path, error: str) -> None:
        self._timer.stop()
        if path is None:
            for f in self._writes:
                f.cancel()
        self._io.shutdown(wait=True)
        if path is None and self._writer is not None:
            self._writer.abort()
        if self._frames is not None:
            self._frames.close()
        if self.worker is not None:
            self.worker.cancel(self)
        if self._palette is not None:
            self._palette.close()
        if self._composer is not None:
            self._composer.close()
        self._writer = self._frames = self._composer = self._palette = None
        self.ended.emit(path, error)


class ExportController(QObject):
    """The window's export actions; export_animation / save_figure / export_samples are
    the seams a test (or a lesson) calls without dialogs."""

    def __init__(self, window):
        super().__init__(window)
        self.job: AnimationJob | None = None
        self.progress_dialog: QProgressDialog | None = None
        menu = window.menu("File")
        before = next((a for a in menu.actions() if a.isSeparator()), None)
        self.actions = {}
        for key, text, shortcut, slot in (
            ("animation", "&Export animation…", "Ctrl+E", self.export_animation_dialog),
            ("figure", "Save &figure…", "Ctrl+Shift+F", self.save_figure_dialog),
            ("samples", "Export &samples…", "", self.export_samples_dialog),
        ):
            a = QAction(text, window)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(lambda _=False, s=slot: s())
            menu.insertAction(before, a) if before else menu.addAction(a)
            window.addAction(a)
            self.actions[key] = a
        window.closing.connect(self.shutdown)

    @property
    def window(self):
        return self.parent()

    def regions(self) -> dict:
        """{view: (x0, x1, y0, y1)} each shown view of the window shows now."""
        out = {}
        for key in self.window.state.session.views:
            view = self.window.view(key)
            box = getattr(view, "viewbox", None)
            if box is not None and view.isVisible():
                (x0, x1), (y0, y1) = box.viewRange()
                out[key] = (x0, x1, y0, y1)
        return out

    def _field(self):
        """A private copy of the learned field (the Learned view's is the frame worker's)."""
        view = getattr(self.window.extensions.get("training"), "view", None)
        field = getattr(view, "field", None)
        if field is None or not hasattr(field, "model"):
            return None
        from flowviz.core.inference import InferenceField

        return InferenceField(field.model.state_dict(), field.config)

    # ------------------------------------------------------------ animation

    def export_animation_dialog(self) -> None:
        from flowviz.gui.export.dialog import ExportDialog  # on first use, not at start-up

        dialog = ExportDialog(
            self.window.settings,
            self.window.state.session.views,
            self.window,
            dark=self.window.style_.dark,
        )
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        try:
            spec = dialog.spec()
        except ValueError as exc:
            self.window.show_error(f"Cannot export: {exc}")
            return
        if not dialog.path():
            self.window.show_error("Cannot export: choose where to save it.")
            return
        self.export_animation(dialog.path(), spec)

    def export_animation(self, out: str, spec) -> AnimationJob | None:
        """Start exporting; None (with the reason shown) when it cannot start."""
        if self.job is not None:
            self.window.show_error("An export is already running.")
            return None
        job = AnimationJob(
            self.window.state.session,
            spec,
            out,
            field=self._field(),
            window=self.regions(),
            worker=self.window.worker,
            parent=self,
        )
        try:
            job.start()
        except (OSError, ValueError) as exc:
            job.cancel()
            self.window.show_error(f"Cannot export: {exc}")
            return None
        self.job = job
        dialog = QProgressDialog(f"Exporting {Path(out).name}…", "Cancel", 0, spec.frames)
        dialog.setWindowTitle("Export animation")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        # The window keeps the keyboard: Space plays and pauses there, and must never press
        # Cancel (the button takes no focus; a click still reaches it).
        dialog.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        for button in dialog.findChildren(QPushButton):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(job.cancel)
        job.progress.connect(lambda done, _n: dialog.setValue(done))
        job.ended.connect(self._on_ended)
        self.progress_dialog = dialog
        self.actions["animation"].setEnabled(False)
        for note in job.target.notes:
            self.window.show_status(note)
        return job

    def _on_ended(self, path, error: str) -> None:
        self.job = None
        if self.progress_dialog is not None:
            self.progress_dialog.canceled.disconnect()
            self.progress_dialog.close()
            self.progress_dialog = None
        self.actions["animation"].setEnabled(True)
        if error:
            self.window.show_error(f"Export failed: {error}")
        elif path is None:
            self.window.show_status("Export cancelled: nothing was written.")
        else:
            self.window.show_status(f"Exported {path}.")

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.cancel()

    # ------------------------------------------------------------ figure

    def save_figure_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self.window, "Save figure", "flowviz.png", "PNG image (*.png)"
        )
        if not name:
            return
        size, ok = QInputDialog.getItem(
            self.window, "Save figure", "Size in pixels", FIGURE_SIZES, 0, False
        )
        if ok:
            w, h = (int(v) for v in size.split("x"))
            self.save_figure(name, width=w, height=h)

    def save_figure(self, filename: str, *, width: int = 1600, height: int = 900) -> bool:
        """The shown views at the current t, side by side, as a PNG (written atomically)."""
        from PySide6.QtGui import QImage

        from flowviz.core.atomic import write_atomic
        from flowviz.export import animation

        session = self.window.state.session
        field = self._field()
        views = tuple(v for v in session.views if v != "learned" or field is not None)
        try:
            if Path(filename).suffix.lower() != ".png":
                raise ValueError(f"{Path(filename).name}: a figure is saved as .png")
            spec = animation.Spec(
                views=views or ("marginal",),
                width=width,
                height=height,
                frames=1,
                theme="dark" if self.window.style_.dark else "light",
            )
            session = animation.prepare(session, spec, field=field)
            composer, pics = animation.setup(
                session, spec, width=width, height=height, field=field, window=self.regions()
            )
            t = session.t
            try:
                rgb = composer.render({v: p.at(t) for v, p in pics.items()}, t)
            finally:
                composer.close()
            img = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)

            def write(f) -> None:
                from PySide6.QtCore import QBuffer, QByteArray, QIODevice

                data = QByteArray()
                buf = QBuffer(data)
                buf.open(QIODevice.OpenModeFlag.WriteOnly)
                img.save(buf, "PNG")
                f.write(bytes(data))

            write_atomic(filename, write)
        except (OSError, ValueError) as exc:
            self.window.show_error(f"Could not save the figure: {exc}")
            return False
        self.window.show_status(f"Saved figure {filename} ({width}×{height}, t = {t:.2f}).")
        return True

    # ------------------------------------------------------------ samples

    def export_samples_dialog(self) -> None:
        kinds = ["trajectories of the exact marginal flow", "final samples of the exact flow"]
        if self._field() is not None:
            kinds += ["trajectories of the learned model", "final samples of the learned model"]
        kind, ok = QInputDialog.getItem(self.window, "Export samples", "Export", kinds, 0, False)
        if not ok:
            return
        name, _ = QFileDialog.getSaveFileName(
            self.window, "Export samples", "samples.npy", "NumPy (*.npy);;CSV (*.csv)"
        )
        if name:
            self.export_samples(
                name, learned="learned" in kind, final_only=kind.startswith("final")
            )

    def export_samples(self, filename: str, *, learned: bool = False, final_only: bool = False):
        """The particles' paths (T, n, 2) (or their end points (n, 2)) under the exact or the
        learned flow, computed on the frame worker and written atomically."""
        from flowviz import pictures

        session = self.window.state.session
        field = self._field() if learned else None
        if learned and field is None:
            self.window.show_error("Train the network first: there is no learned model.")
            return
        if not len(session.data):
            self.window.show_error("There are no data points to flow to.")
            return
        picture = pictures.learned(session, field) if learned else pictures.marginal(session)
        steps = session.display.steps

        def job():
            import numpy as np

            from flowviz.core import data
            from flowviz.export.samples import save_trajectories

            try:
                traj = picture.trajectories(picture.starts)
                if final_only:
                    data.save_points(filename, traj[-1 if not session.display.reverse else 0])
                else:
                    save_trajectories(filename, traj, np.arange(steps + 1) / steps)
            except (OSError, ValueError) as exc:
                return str(exc)
            return ""

        def done(error: str) -> None:
            if error:
                self.window.show_error(f"Could not export the samples: {error}")
            else:
                self.window.show_status(f"Exported the samples to {filename}.")

        self.window.show_status("Computing the particles' paths…")
        self.window.worker.submit(job, done, priority=1)
