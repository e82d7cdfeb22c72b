"""Render the README screenshots offscreen: python -m flowviz.gui.app.screenshots [assets/]
[--lesson] (--lesson: only the lesson's steps, assets/lesson/step-K.png).

Drives the real window (presets, a mouse-drawn stroke, the clock, the lesson's steps as a
class walks them, in presenter mode at 1280 x 720) and saves what it shows, so the
pictures in the README can be regenerated after any visual change.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _settle(app, window, timeout: float = 120.0) -> None:
    """Process events until every frame and particle of every view is computed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        app.processEvents()
        loaded = window.state.path is not None
        if loaded and not window.marginal.busy() and not window.worker.pending():
            break
        time.sleep(0.02)
    app.processEvents()


def _stroke(window, points) -> None:
    """A brush stroke through data points, as the mouse would paint it."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    view = window.marginal
    viewport = view.plot_widget.viewport()
    px = [view.to_pixel(p).toPoint() for p in points]
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=px[0])
    for p in px[1:]:
        QTest.mouseMove(viewport, QPoint(p))
        QTest.qWait(25)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=px[-1])


def _show_view(window, title: str, on: bool) -> None:
    """As the View menu's "Show <title>" entry does."""
    for action in window.menu("View").actions():
        if action.text() == f"Show {title}":
            action.setChecked(on)
            return
    raise LookupError(f"no View menu entry for {title}")


def _train(app, window, steps: int = 1500) -> None:
    """Moons again, train the default network for `steps` steps while the animation plays,
    then rest at t = 0.85 with the error map, the loss chart and the readouts on screen."""
    training = window.extensions["training"]
    window.preset.setCurrentText("moons")
    window.load_preset()
    window.state.set_display(trails=6)
    training.panel.steps_box.setValue(steps)
    window.player.play(True)
    training.train()
    deadline = time.time() + 120
    while training.mode != "idle" and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    window.player.play(False)
    window.state.set_t(0.85)
    deadline = time.time() + 30
    while time.time() < deadline and (training.view.busy() or training.quality is None):
        app.processEvents()
        time.sleep(0.02)
    _settle(app, window)


#: Where a lesson step that plays is shot: its samples at t = 1 when it shows the Learned
#: view, else mid-way, where noise has begun to take the data's shape.
SAMPLES_T, PLAYED_T = 1.0, 0.75


def _lesson_steps(app, window, out_dir: Path) -> None:
    """Every step of the app's lesson, walked as a class does (Start, then Next), in
    presenter mode at 1280 x 720: assets/lesson/step-K.png. A step that trains is shot
    when its run has ended; one that plays rests at the time its text is about."""
    lessons = window.extensions["lessons"]
    training = window.extensions["training"]
    window.presenter.set_scale(175)
    window.presenter_action.setChecked(True)
    window.showNormal()  # offscreen "full screen" is an 800x600 screen: a projector's size
    window.resize(1280, 720)
    (out_dir / "lesson").mkdir(parents=True, exist_ok=True)
    for k in range(len(lessons.lesson.steps)):
        lessons.go(k)
        _settle(app, window)
        deadline = time.time() + 300
        while training.mode != "idle" and time.time() < deadline:
            app.processEvents()
            time.sleep(0.02)
        if window.state.playing:
            window.player.play(False)
            learned = "learned" in window.state.session.views
            window.state.set_t(SAMPLES_T if learned else PLAYED_T)
        deadline = time.time() + 60
        while time.time() < deadline and training.view.busy():
            app.processEvents()
            time.sleep(0.02)
        _settle(app, window)
        window.grab().save(str(out_dir / "lesson" / f"step-{k + 1}.png"))
    lessons.leave()
    window.presenter_action.setChecked(False)


def _window(app, tmp: str):
    from PySide6.QtCore import QSettings

    from flowviz.gui.app.launch import make_window

    return make_window(QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat))


def main(out: str = "assets", *flags: str) -> None:
    from PySide6.QtWidgets import QApplication, QDockWidget

    from flowviz.core import frames

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    if "--lesson" in flags:
        with tempfile.TemporaryDirectory() as tmp:
            window = _window(app, tmp)
            window.show()
            _settle(app, window)
            _lesson_steps(app, window, out_dir)
            window.close()
        print(f"lesson screenshots written to {out_dir / 'lesson'}/")
        return
    with tempfile.TemporaryDirectory() as tmp:
        window = _window(app, tmp)
        window.resize(1600, 860)
        window.show()
        _settle(app, window)
        window.player.play(False)
        window.findChild(QDockWidget, "formulas_dock").raise_()
        window.state.set_t(0.55)
        _settle(app, window)
        window.grab().save(str(out_dir / "window.png"))

        window.state.set_display(trails=10)
        window.state.set_t(0.8)
        _settle(app, window)
        window.marginal.grab().save(str(out_dir / "particles-mid-flight.png"))

        window.clear_points()
        window.radius.setValue(0.18)
        window.density.setValue(900)
        window.tools.set_tool("brush")
        ring = [
            (2.2 * math.cos(a), 2.2 * math.sin(a)) for a in (i * math.pi / 30 for i in range(61))
        ]
        smile = [
            (1.2 * math.cos(a), 1.2 * math.sin(a) - 0.3)
            for a in (math.pi * (1.15 + 0.035 * i) for i in range(21))
        ]
        _show_view(window, "Learned", False)  # two large views for the drawing
        for stroke in (ring, [(-0.8, 0.8), (-0.8, 1.0)], [(0.8, 0.8), (0.8, 1.0)], smile):
            _stroke(window, stroke)
        window.state.set_selected(0)
        window.state.set_t(0.7)
        _settle(app, window)
        window.grab().save(str(out_dir / "drawn-distribution.png"))

        _show_view(window, "Learned", True)
        window.findChild(QDockWidget, "training_dock").raise_()
        _train(app, window)
        window.grab().save(str(out_dir / "learned-training.png"))

        lessons = window.extensions["lessons"]
        lessons.actions["start"].trigger()
        lessons.go(3)  # the marginal field as a posterior-weighted average
        window.state.set_selected(frames.typical_point(window.state.data))
        window.player.play(False)
        window.state.set_t(0.6)
        window.marginal.probe((0.3, 0.9))
        _settle(app, window)
        window.grab().save(str(out_dir / "lesson-step.png"))

        window.presenter.set_scale(175)
        window.presenter_action.setChecked(True)
        window.showNormal()  # offscreen "full screen" is an 800x600 screen: a projector's size
        window.resize(1280, 720)
        _settle(app, window)
        window.grab().save(str(out_dir / "presenter-mode.png"))
        window.presenter_action.setChecked(False)
        lessons.leave()
        _lesson_steps(app, window, out_dir)
        window.close()
    print(f"screenshots written to {out_dir}/")


if __name__ == "__main__":
    main(*sys.argv[1:])
