"""Drawing on the canvas with the real mouse: brush, point, eraser, undo/redo."""

import numpy as np
from gui_mouse import click, move, press, release
from PySide6.QtCore import Qt


def _segment_distance(p, a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    ab = b - a
    f = np.clip(((p - a) @ ab) / (ab @ ab), 0, 1)
    return np.linalg.norm(p - (a + f[:, None] * ab), axis=1)


def test_brush_stroke_lands_where_the_mouse_went_and_undo_removes_it(qtbot, window):
    view, state = window.marginal, window.state
    window.tools.set_tool("brush")
    window.radius.setValue(0.2)
    before = np.array(state.data)
    a, mid, b = (-2.0, -2.5), (0.0, -2.5), (2.0, -2.5)
    press(qtbot, view, a)
    size = window.tools.stroke_size
    qtbot.waitUntil(lambda: size() > len(before) + 10)
    move(qtbot, view, mid)
    n_mid = size()
    qtbot.waitUntil(lambda: size() > n_mid + 10)
    move(qtbot, view, b)
    n_end = size()
    qtbot.waitUntil(lambda: size() > n_end + 10)
    release(qtbot, view, b)

    after = np.array(state.data)
    assert np.array_equal(after[: len(before)], before)  # old points untouched
    new = after[len(before) :]
    assert len(new) > 30
    px = view.pixel_size()
    assert _segment_distance(new, a, b).max() <= 0.2 + 2 * px
    assert (new[:, 0] > 1.0).any() and (new[:, 0] < -1.0).any()  # along the whole stroke

    window.undo.undo()
    assert np.array_equal(state.data, before)
    window.undo.redo()
    assert np.array_equal(state.data, after)


def test_point_tool_and_keyboard_undo_redo(qtbot, window):
    view, state = window.conditional, window.state
    window.tools.set_tool("point")
    before = np.array(state.data)
    click(qtbot, view, (0.5, 1.5))
    click(qtbot, view, (-1.0, 2.0))
    assert len(state.data) == len(before) + 2
    np.testing.assert_allclose(state.data[-2], (0.5, 1.5), atol=2 * view.pixel_size())
    np.testing.assert_allclose(state.data[-1], (-1.0, 2.0), atol=2 * view.pixel_size())

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(state.data) == len(before) + 1  # exactly the last stroke
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(state.data, before)
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Z, shift_ctrl)
    assert len(state.data) == len(before) + 1


def test_eraser_removes_points_under_the_stroke(qtbot, window):
    view, state = window.marginal, window.state
    state.set_data(np.array([[0.0, 0.0], [0.1, 0.05], [2.0, 2.0], [-2.0, 1.0]], np.float32))
    window.tools.set_tool("eraser")
    window.radius.setValue(0.3)
    press(qtbot, view, (-0.5, 0.0))
    move(qtbot, view, (0.5, 0.0))
    release(qtbot, view, (0.5, 0.0))
    np.testing.assert_array_equal(state.data, [[2.0, 2.0], [-2.0, 1.0]])
    window.undo.undo()
    assert len(state.data) == 4


def test_drawing_the_source_keeps_the_data_and_needs_sigma_min(qtbot, window):
    view, state = window.marginal, window.state
    data = np.array(state.data)
    window.draw_target.setCurrentIndex(window.draw_target.findData("source"))
    window.tools.set_tool("point")
    for xy in ((-1.0, -1.0), (1.0, -1.0), (0.0, 1.0)):
        click(qtbot, view, xy)
    assert np.array_equal(state.data, data)
    assert state.source is not None and len(state.source) == 3
    assert state.path.sigma_min > 0  # a drawn source needs a minimum width
    window.undo.undo()
    window.undo.undo()
    window.undo.undo()
    assert state.source is None


def test_clear_is_undoable(window):
    before = np.array(window.state.data)
    window.clear_points()
    assert len(window.state.data) == 0
    window.undo.undo()
    assert np.array_equal(window.state.data, before)
