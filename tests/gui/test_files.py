"""Open / save / import through the file dialogs; bad files never touch the data. Files are
read on the frame worker: each test waits for the load to end (window.loading())."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QFileDialog

WAIT = 90_000  # ms: generous, waits end as soon as the load does


def _finish(qtbot, window):
    qtbot.waitUntil(lambda: not window.loading(), timeout=WAIT)


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
    qtbot, window, tmp_path, monkeypatch, messages, name, content
):
    path = tmp_path / name
    path.write_text(content)
    before = np.array(window.state.data)
    depth = window.undo.count()
    _dialog_returns(monkeypatch, path)
    window.open_points_dialog()
    assert window.statusBar().currentMessage() == f"Loading {name}…"
    _finish(qtbot, window)
    assert np.array_equal(window.state.data, before)
    assert window.undo.count() == depth
    assert len(messages) == 1 and name in messages[0]


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_save_then_open_round_trips(qtbot, window, tmp_path, monkeypatch, messages, suffix):
    path = tmp_path / f"pts{suffix}"
    original = np.array(window.state.data)
    _dialog_returns(monkeypatch, path)
    window.save_points_dialog()
    window.clear_points()
    window.open_points_dialog()
    _finish(qtbot, window)
    np.testing.assert_allclose(window.state.data, original, rtol=1e-6)
    assert not messages


def test_image_import_samples_the_dark_pixels(qtbot, window, tmp_path, monkeypatch, messages):
    image = QImage(200, 100, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.fillRect(0, 0, 50, 100, QColor("black"))  # a dark bar on the left quarter
    painter.end()
    path = tmp_path / "bar.png"
    assert image.save(str(path))
    _dialog_returns(monkeypatch, path)
    window.import_image_dialog()
    _finish(qtbot, window)
    pts = window.state.data
    assert len(pts) == window.count.value()
    # the image spans x in [-2.6, 2.6]: the bar is the left quarter, y within half height
    assert pts[:, 0].max() <= -2.6 + 5.2 / 4 + 0.03 and pts[:, 0].min() >= -2.6 - 0.03
    assert np.abs(pts[:, 1]).max() <= 1.3 + 0.03
    assert not messages


def test_blank_image_is_refused(qtbot, window, tmp_path, monkeypatch, messages):
    image = QImage(20, 20, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    path = tmp_path / "blank.png"
    image.save(str(path))
    before = np.array(window.state.data)
    _dialog_returns(monkeypatch, path)
    window.import_image_dialog()
    _finish(qtbot, window)
    assert np.array_equal(window.state.data, before)
    assert "blank.png" in messages[0] and "dark" in messages[0]


def test_a_large_image_is_downscaled_while_reading(qtbot, window, tmp_path, messages):
    """8000 x 6000 (48 MP): read at most 400 px across, never decoded whole."""
    image = QImage(8000, 6000, QImage.Format.Format_Grayscale8)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.fillRect(0, 0, 2000, 6000, QColor("black"))
    painter.end()
    path = tmp_path / "huge.jpg"  # JPEG decodes scaled: the full image is never in memory
    assert image.save(str(path), quality=50)
    del image, painter
    window.import_image(str(path))
    _finish(qtbot, window)
    assert not messages and len(window.state.data) == window.count.value()
    assert window.state.data[:, 0].max() <= -2.6 + 5.2 / 4 + 0.05


def test_an_image_declaring_too_many_pixels_is_refused_in_one_line(
    qtbot, window, tmp_path, messages
):
    """A PNG whose header claims 40000 x 40000 pixels: too large, not "unreadable"."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 0, 0, 0, 0)  # 8-bit grayscale
    row = b"\x00" + b"\xff" * 40_000
    idat = zlib.compress(row * 64)  # a few rows: the decoder stops long before the end
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    path = tmp_path / "giant.png"
    path.write_bytes(png)
    before, depth = np.array(window.state.data), window.undo.count()
    window.import_image(str(path))
    _finish(qtbot, window)
    assert len(messages) == 1 and messages[0].startswith("giant.png: ")
    assert "too large" in messages[0] and "\n" not in messages[0]
    assert np.array_equal(window.state.data, before) and window.undo.count() == depth
