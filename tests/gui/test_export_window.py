"""Export from the window: the same picture as the view, progress, Cancel leaves nothing."""

import numpy as np
import pytest
from gui_mouse import click
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton

from flowviz import pictures
from flowviz.export.animation import Spec
from flowviz.render.canvas import Canvas, to_array

T = 0.43
#: Pixels may differ by antialiasing only: at most this mean absolute difference (0-255)
#: and this share of pixels differing by more than 64.
MEAN_TOLERANCE, SHARE_TOLERANCE = 1.0, 0.002


def _grab(view) -> np.ndarray:
    return to_array(view.plot_widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888))


def _differ(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float(d.mean()), float((d.max(axis=2) > 64).mean())


SOURCE = np.float32([[0.0, 0.4], [0.3, -0.5], [-0.2, -0.1], [0.5, 3.0]])


@pytest.fixture
def shown(qtbot, window):
    """The Conditional and Marginal views, wide, settled at T, with a drawn source far from
    the origin (near the left edge of the views, beyond the old export's +-3.6 square) and
    a selected z."""
    state = window.state
    window.resize(1700, 640)
    state.update(views=("conditional", "marginal"))
    qtbot.waitUntil(lambda: not window.view("marginal").busy(), timeout=60_000)
    (x0, _), _ = window.view("marginal").viewbox.viewRange()
    source = SOURCE + np.float32([0.9 * x0, 0.0])
    state.update(source=source, selected=5)
    state.set_t(T)
    for key in ("conditional", "marginal"):
        view = window.view(key)
        qtbot.waitUntil(lambda v=view: v.current_frame() is not None, timeout=60_000)
        qtbot.waitUntil(lambda v=view: not v.busy(), timeout=60_000)
        qtbot.waitUntil(lambda v=view: v.current_frame().t == T, timeout=60_000)
    return window


def _export_panel(window, key: str) -> np.ndarray:
    """The exporter's panel of view key, of the window view's size: the export's Session
    (animation.prepare), region (the window's, Spec.region "window") and picture, drawn by
    the export's Canvas (with the window's text sizes: the same axes and keys)."""
    from flowviz.export import animation

    view = window.view(key)
    spec = Spec(views=(key,))
    session = animation.prepare(window.state.session, spec)
    regions = animation.regions_of(session, spec, window=window.extensions["export"].regions())
    size = view.plot_widget.size()
    canvas = Canvas(window.style_, size.width(), size.height())
    try:
        canvas.set_region(regions[key])
        pic = animation.pictures_of(session, (key,), extents={key: canvas.extent()})[key]
        canvas.draw(pic.at(T))
        return to_array(canvas.image())
    finally:
        canvas.close()


@pytest.mark.parametrize("key", ["conditional", "marginal"])
def test_an_exported_panel_is_the_picture_the_window_shows(shown, key):
    """Same Session, t and size: the exported panel equals the window view's grab, with a
    drawn source far from the origin and the window's selected z."""
    view = shown.view(key)
    (x0, _), _ = view.viewbox.viewRange()
    assert shown.state.source[:, 0].min() < -3.6  # the far source is in sight
    assert shown.extensions["export"].regions()[key][0] == x0
    mean, share = _differ(_grab(view), _export_panel(shown, key))
    assert mean <= MEAN_TOLERANCE and share <= SHARE_TOLERANCE


def test_the_comparison_sees_a_wrong_t_a_missing_layer_and_another_z(shown):
    from dataclasses import replace

    view = shown.view("marginal")
    size = view.plot_widget.size()
    canvas = Canvas(shown.style_, size.width(), size.height())
    try:
        (x0, x1), (y0, y1) = view.viewbox.viewRange()
        canvas.set_region((x0, x1, y0, y1))
        picture = pictures.marginal(shown.state.session, extent=canvas.extent())
        window_image = _grab(view)
        wrong = []
        for frame in (
            picture.at(T + 0.1),
            replace(picture.at(T), particles=np.zeros((0, 2), np.float32), trails=None),
        ):
            canvas.draw(frame)
            wrong.append(_differ(window_image, to_array(canvas.image())))
    finally:
        canvas.close()
    shown.state.update(selected=6)  # the exported panel follows the window's z
    conditional = shown.view("conditional")
    assert _differ(_grab(conditional), _export_panel(shown, "conditional"))[0] <= MEAN_TOLERANCE
    shown.state.update(selected=5)
    other = _export_panel(shown, "conditional")
    shown.state.update(selected=6)
    wrong.append(_differ(_grab(conditional), other))
    for mean, share in wrong:
        assert mean > MEAN_TOLERANCE or share > SHARE_TOLERANCE


def test_no_z_in_the_window_means_none_in_the_export(window):
    from flowviz.export import animation

    window.state.update(selected=-1)
    session = animation.prepare(window.state.session, Spec(views=("conditional",)))
    assert session.selected == -1
    frame = animation.pictures_of(session, ("conditional",))["conditional"].at(0.5)
    assert frame.z is None and frame.field is None and not len(frame.particles)
    assert len(frame.data) == len(window.state.data)


def test_export_from_the_window_runs_with_progress_and_writes_the_file(qtbot, window, tmp_path):
    exporter = window.extensions["export"]
    out = tmp_path / "lecture.gif"
    spec = Spec(views=("conditional", "marginal"), width=320, height=192, fps=10, frames=4)
    job = exporter.export_animation(str(out), spec)
    assert job is not None and not exporter.actions["animation"].isEnabled()
    seen = []
    job.progress.connect(lambda done, total: seen.append(done))
    with qtbot.waitSignal(job.ended, timeout=90_000) as ended:
        pass
    assert ended.args[0] == out and ended.args[1] == ""
    assert out.stat().st_size > 0 and seen[-1] == 4
    assert exporter.actions["animation"].isEnabled()
    assert "Exported" in window.statusBar().currentMessage()


def test_cancel_leaves_no_file_and_keeps_an_old_one(qtbot, window, tmp_path):
    exporter = window.extensions["export"]
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "talk.mp4"
    out.write_bytes(b"old")
    spec = Spec(views=("marginal",), width=320, height=192, fps=10, frames=400)
    job = exporter.export_animation(str(out), spec)
    qtbot.waitUntil(lambda: job.done >= 1, timeout=90_000)
    button = exporter.progress_dialog.findChild(QPushButton)
    assert button.text() == "Cancel"
    with qtbot.waitSignal(job.ended, timeout=90_000) as ended:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert ended.args[0] is None
    assert out.read_bytes() == b"old" and [p.name for p in folder.iterdir()] == ["talk.mp4"]
    assert "cancelled" in window.statusBar().currentMessage()


def test_a_bad_export_says_why_and_starts_nothing(window, tmp_path, messages):
    shown = messages
    exporter = window.extensions["export"]
    folder = tmp_path / "out"
    folder.mkdir()
    assert exporter.export_animation(str(folder / "x.avi"), Spec(frames=3)) is None
    assert len(shown) == 1 and "unknown extension" in shown[0]
    assert exporter.job is None and not list(folder.iterdir())


def test_save_figure_and_export_samples(qtbot, window, tmp_path):
    exporter = window.extensions["export"]
    png = tmp_path / "fig.png"
    assert exporter.save_figure(str(png), width=400, height=240)
    img = QImage(str(png))
    assert (img.width(), img.height()) == (400, 240)
    npy, csv = tmp_path / "paths.npy", tmp_path / "paths.csv"
    exporter.export_samples(str(npy))
    exporter.export_samples(str(csv))
    qtbot.waitUntil(lambda: npy.exists() and csv.exists(), timeout=90_000)
    traj = np.load(npy)
    d = window.state.display
    assert traj.shape == (d.steps + 1, d.particles, 2)
    rows = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert rows.shape == ((d.steps + 1) * d.particles, 4)
    np.testing.assert_allclose(rows[-d.particles :, 2:], traj[-1], rtol=1e-6)


def test_the_dialog_defaults_to_the_shown_views_and_remembers_its_choices(window, tmp_path):
    from flowviz.gui.export.dialog import ExportDialog

    window.state.update(views=("marginal", "learned"))
    d = ExportDialog(window.settings, window.state.session.views, window)
    assert [v for v, b in d.views.items() if b.isChecked()] == ["marginal", "learned"]
    d.format.setCurrentIndex(d.format.findData("gif"))
    d.size.setCurrentIndex(d.size.findData("1080x1080"))
    d.fps.setValue(20)
    d.duration.setValue(3.0)
    d.direction.setCurrentIndex(d.direction.findData("loop"))
    d.title.setText("Two moons")
    d.out.setText(str(tmp_path / "talk.mp4"))
    d._on_format()  # the typed name follows the format
    assert d.path() == str(tmp_path / "talk.gif")
    spec = d.spec()
    assert (spec.width, spec.height, spec.frames, spec.direction) == (1080, 1080, 60, "loop")
    d.accept()
    again = ExportDialog(window.settings, ("conditional",), window)
    assert again.spec() == spec and again.path() == str(tmp_path / "talk.gif")


def _settled(qtbot, window, keys) -> None:
    for key in keys:
        view = window.view(key)
        qtbot.waitUntil(lambda v=view: v.current_frame() is not None and not v.busy())
        qtbot.waitUntil(lambda v=view: v.current_frame().t == window.state.t)


def _activate(qtbot, window) -> None:
    """The window is the active one, as after a click on it (the progress dialog may have
    been activated meanwhile)."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


def _showing_everything(view) -> bool:
    """Particles, arrows, the heat layer and both keys on screen (not only the data)."""
    scene = view.scene
    return (
        scene.particles.count() > 0
        and len(scene.arrows.segments()) > 0
        and scene.heatmap.isVisible()
        and scene.colorbar.isVisible()
        and scene.legend.isVisible()
    )


def test_exporting_never_changes_what_the_window_shows(qtbot, window, tmp_path):
    """An export runs beside clicks (the brush adds data), playback and Space: the views
    refill while it runs (their jobs go before the export's on the frame worker), and
    whenever the window rests at T they show what they show with no export running."""
    from flowviz.gui.export import EXPORT_PRIORITY
    from flowviz.gui.views.field_view import PRIORITY

    assert max(PRIORITY.values()) < EXPORT_PRIORITY
    keys = ("conditional", "marginal")
    window.state.update(views=keys, selected=5)
    window.state.set_t(T)
    _settled(qtbot, window, keys)
    exporter = window.extensions["export"]
    spec = Spec(views=keys, width=640, height=360, fps=10, frames=400)
    job = exporter.export_animation(str(tmp_path / "beside.mp4"), spec)
    assert job is not None
    try:
        for _ in range(2):
            _activate(qtbot, window)
            n = len(window.state.data)
            click(qtbot, window.view("marginal"), (0.5, -2.0))
            assert len(window.state.data) > n  # the brush sprayed points: views remade
            _activate(qtbot, window)
            qtbot.keyClick(window, Qt.Key.Key_Space)  # play
            assert window.state.playing
            done = job.done
            qtbot.waitUntil(lambda d=done: job.done > d)  # frames were made meanwhile
            _activate(qtbot, window)
            qtbot.keyClick(window, Qt.Key.Key_Space)  # pause
            assert not window.state.playing
            window.state.set_t(T)
            _settled(qtbot, window, keys)
            assert exporter.job is job  # still exporting
            assert all(_showing_everything(window.view(k)) for k in keys)
        during = {k: _grab(window.view(k)) for k in keys}
    finally:
        with qtbot.waitSignal(job.ended, timeout=90_000):
            job.cancel()
    _settled(qtbot, window, keys)
    for k in keys:
        mean, share = _differ(during[k], _grab(window.view(k)))
        assert mean <= MEAN_TOLERANCE and share <= SHARE_TOLERANCE, k


def test_the_dialog_estimates_the_size_and_scales_a_gif(window):
    from flowviz.gui.export.dialog import ExportDialog

    d = ExportDialog(window.settings, ("marginal",), window)
    d.format.setCurrentIndex(d.format.findData("gif"))
    d.size.setCurrentIndex(d.size.findData("1280x720"))
    full = d.estimate.text()
    assert "MB" in full and "1280 × 720" in full
    d.scale.setCurrentIndex(d.scale.findData("0.5"))
    assert "640 × 360" in d.estimate.text()
    mb = [float(text.split()[1]) for text in (full, d.estimate.text())]
    assert mb[1] < 0.3 * mb[0]
    assert (d.spec().width, d.spec().height) == (640, 360)
    d.region.setCurrentIndex(d.region.findData("fit"))
    assert d.spec().region == "fit"


def test_space_during_an_export_plays_and_never_cancels_it(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QApplication

    exporter = window.extensions["export"]
    spec = Spec(views=("marginal",), width=320, height=192, fps=10, frames=300)
    job = exporter.export_animation(str(tmp_path / "space.mp4"), spec)
    qtbot.waitUntil(lambda: job.done >= 1)
    button = exporter.progress_dialog.findChild(QPushButton)
    assert button.focusPolicy() == Qt.FocusPolicy.NoFocus
    # Keys reach the focused widget, never the Cancel button (it takes no focus): Space on
    # the dialog in front, or wherever the focus is, leaves the export running.
    qtbot.keyClick(exporter.progress_dialog, Qt.Key.Key_Space)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Space)
    assert exporter.job is job  # not cancelled
    assert QApplication.focusWidget() is not button
    with qtbot.waitSignal(job.ended, timeout=90_000):
        job.cancel()
