"""The start screen offers the lesson and shows the gallery as thumbnails; a canvas that
gets its first points (after Start drawing or Clear) picks a z for the Conditional view."""

import numpy as np
import pytest
from gui_mouse import click
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from flowviz.gui.sessions.controller import gallery_files
from flowviz.gui.sessions.start_screen import THUMBNAIL, thumbnail_of


def _first_launch(qtbot, tmp_path):
    from flowviz.gui.app.launch import make_window

    w = make_window(QSettings(str(tmp_path / "first.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready):
        w.show()
    w.player.play(False)
    sessions = w.extensions["sessions"]
    qtbot.waitUntil(lambda: sessions.start_screen is not None)
    return w, sessions.start_screen


def test_every_gallery_session_has_a_thumbnail():
    files = gallery_files()
    assert len(files) >= 4
    for f in files:
        image = QImage(str(thumbnail_of(f)))
        assert not image.isNull(), f"{f.name}: run assets/sessions/make_thumbnails.py"
        assert image.width() == image.height() == THUMBNAIL


def test_the_start_screen_shows_thumbnails_and_starts_the_lesson(qtbot, tmp_path):
    w, screen = _first_launch(qtbot, tmp_path)
    try:
        for path in gallery_files():
            b = screen.buttons[str(path)]
            assert not b.icon().isNull() and b.iconSize().width() == THUMBNAIL
            assert b.text()  # its title under the picture
        lessons = w.extensions["lessons"]
        assert screen.lesson_button is not None
        assert lessons.lesson.title in screen.lesson_button.text()
        screen.lesson_button.click()
        qtbot.waitUntil(lambda: lessons.index == 0 and lessons.dock.isVisible())
        assert w.extensions["sessions"].start_screen is None
    finally:
        w.close()


def test_a_fresh_canvas_picks_a_z_with_its_first_points(qtbot, tmp_path):
    w, screen = _first_launch(qtbot, tmp_path)
    try:
        screen.draw_button.click()
        qtbot.waitUntil(lambda: len(w.state.data) == 0)
        assert w.state.selected == -1  # nothing to pick yet
        w.tools.set_tool("point")
        for xy in ((0.5, 1.5), (-1.0, 2.0), (1.0, -0.5)):
            click(qtbot, w.conditional, xy)
            assert 0 <= w.state.selected < len(w.state.data)  # the view has a z at once
        w.undo.undo()
        w.undo.undo()
        w.undo.undo()
        assert len(w.state.data) == 0 and w.state.selected == -1
    finally:
        w.close()


@pytest.mark.parametrize("how", ["clear", "eraser"])
def test_clearing_then_drawing_picks_a_z(qtbot, window, how):
    if how == "clear":
        window.clear_points()
    else:  # everything erased: the z went with its point
        window.state.update(data=np.zeros((0, 2), np.float32))
    assert window.state.selected == -1
    window.tools.set_tool("point")
    click(qtbot, window.marginal, (0.2, 0.3))
    assert window.state.selected == 0
