"""Render speed of the window: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_render.py [--profile]

1. Time from launching a fresh interpreter to the main window being shown (torch loads in
   the background afterwards).
2. Frame rate of the side-by-side animation (Conditional + Marginal, arrows + density
   heatmap + particles with trails), offscreen, at 10,000 and 50,000 particles: every
   frame advances t as playback does, then repaints both views synchronously. Frames and
   trajectories are precomputed first (as they are after a few seconds in the app).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHOWN_SCRIPT = """
import time, sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from flowviz.gui.app.launch import make_window
app = QApplication([])
w = make_window(QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
def shown():
    print(time.time(), flush=True)
    w.close()
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def time_to_shown(runs: int = 3) -> float:
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            t0 = time.time()
            out = subprocess.run(
                [sys.executable, "-c", SHOWN_SCRIPT, os.path.join(tmp, "s.ini")],
                capture_output=True,
                text=True,
                check=True,
            )
            best = min(best, float(out.stdout.split()[-1]) - t0)
    return best


def frame_rate(window, app, particles: int, frames: int = 240) -> float:
    window.player.play(False)
    window.state.set_display(
        particles=particles,
        arrows="length",
        heat="density",
        trails=int(os.environ.get("TRAILS", 6)),
    )
    view = window.marginal
    deadline = time.time() + 600
    app.processEvents()
    while (view.busy() or window.worker.pending()) and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    window.state.set_t(0.0)
    window.state.set_playing(True)  # as during playback: views draw cached frames
    painted = [0]
    views = (window.conditional, window.marginal)
    counter = paint_counter(painted)
    for v in views:
        v.plot_widget.viewport().installEventFilter(counter)
    t0 = time.perf_counter()
    for _ in range(frames):
        window.player.advance(1 / 60)
        if window.state.t >= 1.0:
            window.state.set_t(0.0)
        app.processEvents()  # the views' update requests paint them here
    elapsed = time.perf_counter() - t0
    window.state.set_playing(False)
    for v in views:
        v.plot_widget.viewport().removeEventFilter(counter)
    assert painted[0] >= 2 * frames * 0.95, f"only {painted[0]} view paints for {frames} frames"
    return frames / elapsed


def paint_counter(box: list[int]):
    """A QObject event filter counting paint events into box[0] (proves frames were drawn)."""
    from PySide6.QtCore import QEvent, QObject

    class Counter(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                box[0] += 1
            return False

    return Counter()


def main() -> None:
    print(f"time to window shown: {time_to_shown():.2f} s (goal <= 1.5 s)")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from flowviz.gui.app.launch import make_window

    app = QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        window = make_window(QSettings(os.path.join(tmp, "b.ini"), QSettings.Format.IniFormat))
        window.resize(1600, 900)
        window.show()
        while window.state.path is None:
            app.processEvents()
            time.sleep(0.01)
        profile = "--profile" in sys.argv
        for n, goal in ((10_000, 60), (50_000, 30)):
            if profile:
                import cProfile

                cProfile.runctx("frame_rate(window, app, n)", globals(), locals(), sort="cumtime")
            fps = frame_rate(window, app, n)
            print(f"{n:>6} particles: {fps:6.1f} fps (goal >= {goal})")
        window.close()


if __name__ == "__main__":
    main()
