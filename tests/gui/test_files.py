"""Open / save / import through the file dialogs; bad files never touch the data."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QFileDialog, QMessageBox


@pytest.fixture
def messages(monkeypatch):
    """Message boxes are recorded instead of blocking."""
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    return shown


def _dialog_returns(monkeypatch, name):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(name), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(name), ""))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.csv", "x,y\n1,2\n3,oops\n"),
        ("three.csv", "1,2,3\n4,5,6\n"),
        ("empty.csv", ""),
        ("broken.npy", "not numpy at all"),
        ("points.txt.gz", "1,2"),
    ],
)
def test_malformed_file_leaves_the_data_and_names_the_problem(
    window, tmp_path, monkeypatch, messages, name, content
):
    path = tmp_path / name
    path.write_text(content)
    before = np.array(window.state.data)
    depth = window.undo.count()
    _dialog_returns(monkeypatch, path)
    window.open_points_dialog()
    assert np.array_equal(window.state.data, before)
    assert window.undo.count() == depth
    assert len(messages) == 1 and name in messages[0]


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_save_then_open_round_trips(window, tmp_path, monkeypatch, messages, suffix):
    path = tmp_path / f"pts{suffix}"
    original = np.array(window.state.data)
    _dialog_returns(monkeypatch, path)
    window.save_points_dialog()
    window.clear_points()
    window.open_points_dialog()
    np.testing.assert_allclose(window.state.data, original, rtol=1e-6)
    assert not messages


def test_image_import_samples_the_dark_pixels(window, tmp_path, monkeypatch, messages):
    image = QImage(200, 100, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.fillRect(0, 0, 50, 100, QColor("black"))  # a dark bar on the left quarter
    painter.end()
    path = tmp_path / "bar.png"
    assert image.save(str(path))
    _dialog_returns(monkeypatch, path)
    window.import_image_dialog()
    pts = window.state.data
    assert len(pts) == window.count.value()
    # the image spans x in [-2.6, 2.6]: the bar is the left quarter, y within half height
    assert pts[:, 0].max() <= -2.6 + 5.2 / 4 + 0.03 and pts[:, 0].min() >= -2.6 - 0.03
    assert np.abs(pts[:, 1]).max() <= 1.3 + 0.03
    assert not messages


def test_blank_image_is_refused(window, tmp_path, monkeypatch, messages):
    image = QImage(20, 20, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    path = tmp_path / "blank.png"
    image.save(str(path))
    before = np.array(window.state.data)
    _dialog_returns(monkeypatch, path)
    window.import_image_dialog()
    assert np.array_equal(window.state.data, before)
    assert "blank.png" in messages[0] and "dark" in messages[0]
