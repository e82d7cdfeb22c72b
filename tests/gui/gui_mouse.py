"""Mouse helpers: drive a view's viewport in data coordinates."""

from PySide6.QtCore import Qt


def pixel(view, xy):
    return view.to_pixel(xy).toPoint()


def press(qtbot, view, xy):
    qtbot.mousePress(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=pixel(view, xy))


def move(qtbot, view, xy):
    qtbot.mouseMove(view.plot_widget.viewport(), pos=pixel(view, xy))


def release(qtbot, view, xy):
    qtbot.mouseRelease(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=pixel(view, xy))


def click(qtbot, view, xy):
    qtbot.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=pixel(view, xy))
