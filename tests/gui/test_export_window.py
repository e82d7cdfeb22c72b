"""Export from the window: the same picture as the view, progress, Cancel leaves nothing."""

import numpy as np
import pytest
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


@pytest.fixture
def shown(qtbot, window):
    """The Marginal view settled at T, and a Canvas of its plot's size and style."""
    view, state = window.marginal, window.state
    state.set_t(T)
    qtbot.waitUntil(lambda: view.current_frame() is not None and view.current_frame().t == T)
    qtbot.waitUntil(lambda: not view.busy())
    size = view.plot_widget.size()
    canvas = Canvas(window.style_, size.width(), size.height())
    yield view, canvas, state.session
    canvas.close()


def _render(canvas, frame, session) -> np.ndarray:
    canvas.draw(frame, center=session.camera.center, half=session.camera.half)
    return to_array(canvas.image())


def test_an_exported_frame_is_the_picture_the_window_shows(shown):
    view, canvas, session = shown
    assert canvas.extent() == view.extent  # the export's plot is made for the same shape
    picture = pictures.marginal(session, extent=canvas.extent())
    mean, share = _differ(_grab(view), _render(canvas, picture.at(T), session))
    assert mean <= MEAN_TOLERANCE and share <= SHARE_TOLERANCE


def test_the_comparison_sees_a_wrong_t_and_a_missing_layer(shown):
    from dataclasses import replace

    view, canvas, session = shown
    picture = pictures.marginal(session, extent=canvas.extent())
    window_image = _grab(view)
    wrong_t = _differ(window_image, _render(canvas, picture.at(T + 0.1), session))
    no_particles = replace(picture.at(T), particles=np.zeros((0, 2), np.float32), trails=None)
    missing = _differ(window_image, _render(canvas, no_particles, session))
    for mean, share in (wrong_t, missing):
        assert mean > MEAN_TOLERANCE or share > SHARE_TOLERANCE


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
