"""Readable at a projector's size: at 1280x720, 1024x700 and 1920x1080, and in presenter mode
at 200 %, no two visible controls overlap, no view title is cut, no tool bar control hides in
an overflow menu, and the views use their area (cells near square, the data region square):
checked on widget geometry."""

import itertools

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QGraphicsView,
    QLabel,
    QTabBar,
    QToolBar,
    QWidget,
)

SIZES = [(1280, 720), (1024, 700), (1920, 1080)]

CONTROLS = (QLabel, QAbstractButton, QAbstractSpinBox, QComboBox, QAbstractSlider, QTabBar)


def _shown_rect(w: QWidget, window: QWidget) -> QRect:
    """The part of w that is on screen, in window coordinates (empty if none)."""
    region = w.visibleRegion()
    if region.isEmpty():
        return QRect()
    r = region.boundingRect()
    return QRect(w.mapTo(window, r.topLeft()), r.size())


def _controls(window) -> list[QWidget]:
    out = []
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.window() is not window:
            continue
        if isinstance(w, (*CONTROLS, QGraphicsView)):
            # a spin box's line edit, a combo's button: parts of one control
            if any(isinstance(p, CONTROLS) for p in _ancestors(w, window)):
                continue
            out.append(w)
    return out


def _ancestors(w, window):
    p = w.parentWidget()
    while p is not None and p is not window:
        yield p
        p = p.parentWidget()


def overlaps(window) -> list[str]:
    items = [(w, _shown_rect(w, window)) for w in _controls(window)]
    items = [(w, r) for w, r in items if not r.isEmpty()]
    bad = []
    for (a, ra), (b, rb) in itertools.combinations(items, 2):
        inter = ra.intersected(rb)
        if inter.width() > 1 and inter.height() > 1:
            bad.append(f"{_name(a)} {ra.getRect()} overlaps {_name(b)} {rb.getRect()}")
    return bad


def _name(w) -> str:
    text = getattr(w, "text", lambda: "")()
    return f"{type(w).__name__}({w.objectName() or text[:24]!r})"


def cut_titles(window) -> list[str]:
    """View titles whose text does not fit their label."""
    bad = []
    for view in window.views():
        label = view.title
        need = label.heightForWidth(label.width()) if label.wordWrap() else 0
        if label.width() < 40 or need > label.height() + 1:
            bad.append(f"{view.objectName()}: {label.size().toTuple()} needs height {need}")
    return bad


def hidden_tools(window) -> list[str]:
    """Tool bar controls not shown whole inside their bar (in its ">>" overflow, or cut)."""
    bad = []
    for bar in window.findChildren(QToolBar):
        if not bar.isVisible():
            continue
        for action in bar.actions():
            w = bar.widgetForAction(action)
            if not action.isVisible() or w is None:
                continue
            if not w.isVisible() or not bar.rect().contains(w.geometry()):
                bad.append(f"{bar.objectName()}: {action.text() or _name(w)}")
    return bad


def shown_views(window) -> list[QWidget]:
    return [v for v in window.views() if v.isVisible()]


def cell_aspects(window) -> list[float]:
    return [v.width() / v.height() for v in shown_views(window)]


def square_data(window) -> bool:
    """One data unit is as long in x as in y in every shown view."""
    for view in shown_views(window):
        box = view.viewbox
        (x0, x1), (y0, y1) = box.viewRange()
        if abs(((x1 - x0) / (y1 - y0)) / (box.width() / box.height()) - 1) > 0.02:
            return False
    return True


def _resize(qtbot, window, size) -> None:
    window.showNormal()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().toTuple() == size, timeout=60_000)


@pytest.mark.parametrize("size", SIZES)
def test_nothing_overlaps_or_is_cut_at_projector_sizes(qtbot, window, size):
    _resize(qtbot, window, size)
    qtbot.waitUntil(lambda: not overlaps(window) and not cut_titles(window), timeout=60_000)
    qtbot.waitUntil(lambda: not hidden_tools(window), timeout=60_000)


@pytest.mark.parametrize("size", SIZES)
def test_auto_layout_gives_three_views_near_square_cells_and_square_data(qtbot, window, size):
    assert window.state.display.layout == "auto"
    _resize(qtbot, window, size)
    qtbot.waitUntil(lambda: len(shown_views(window)) == 3, timeout=60_000)
    qtbot.waitUntil(
        lambda: all(0.6 <= a <= 1.7 for a in cell_aspects(window)) and square_data(window),
        timeout=60_000,
    )


def _rows(window) -> list[list[QWidget]]:
    """The shown views grouped by the row they sit in, top to bottom, left to right."""
    rows: dict[int, list[QWidget]] = {}
    for view in shown_views(window):
        rows.setdefault(view.y(), []).append(view)
    return [sorted(rows[y], key=QWidget.x) for y in sorted(rows)]


def _choose(window, label: str) -> None:
    """As the View > Layout entry called label does."""
    (entry,) = [a for a in window.menu("View").actions() if a.text() == "&Layout"]
    (action,) = [a for a in entry.menu().actions() if a.text().replace("&", "") == label]
    action.trigger()


def test_row_and_grid_do_what_they_say_and_the_session_keeps_the_choice(qtbot, window):
    _resize(qtbot, window, (1280, 720))
    _choose(window, "Row")
    assert window.state.display.layout == "row"
    assert window.state.session.to_dict()["display"]["layout"] == "row"
    qtbot.waitUntil(lambda: [len(r) for r in _rows(window)] == [3], timeout=60_000)
    assert window.view_area.arrangement() == (1, 3)
    _choose(window, "Grid")
    qtbot.waitUntil(lambda: [len(r) for r in _rows(window)] == [2, 1], timeout=60_000)
    top, (below,) = _rows(window)
    centre = (top[0].geometry().left() + top[1].geometry().right()) / 2
    assert abs(below.geometry().center().x() - centre) <= 2  # the last row is centred
    assert square_data(window)
    window.state.update(display={"layout": "auto"})  # a session or a lesson step
    checked = [a for a in window._layout_actions.values() if a.isChecked()]
    assert checked == [window._layout_actions["auto"]]


def test_hiding_a_view_rearranges_the_others(qtbot, window):
    _resize(qtbot, window, (1280, 720))
    qtbot.waitUntil(lambda: [len(r) for r in _rows(window)] == [2, 1], timeout=60_000)
    window.state.update(views=("conditional", "marginal"))
    qtbot.waitUntil(lambda: [len(r) for r in _rows(window)] == [2], timeout=60_000)
    assert window.view_area.arrangement() == (1, 2)
    qtbot.waitUntil(lambda: all(0.6 <= a <= 1.7 for a in cell_aspects(window)), timeout=60_000)
    window.state.update(views=("conditional", "marginal", "learned"))
    qtbot.waitUntil(lambda: [len(r) for r in _rows(window)] == [2, 1], timeout=60_000)


def test_presenter_mode_at_200_percent_keeps_the_controls_apart(qtbot, window):
    window.resize(1280, 720)
    window.presenter.set_scale(200)
    window.presenter_action.setChecked(True)
    assert window.presenter.on and window.presenter_bar.isVisible()
    assert not any(t.isVisible() for t in (window.findChild(QWidget, "tools_bar"),))
    qtbot.waitUntil(lambda: not overlaps(window) and not cut_titles(window), timeout=60_000)
    window.presenter_action.setChecked(False)
    assert not window.presenter.on and window.findChild(QWidget, "tools_bar").isVisible()


def test_the_check_sees_an_overlap(qtbot, window):
    """A label pushed on top of the play button is reported (the check can fail)."""
    button = window.time_bar.play
    intruder = QLabel("in the way", window.time_bar)
    intruder.setGeometry(button.geometry())
    intruder.show()
    qtbot.waitUntil(intruder.isVisible)
    assert any("in the way" in line for line in overlaps(window))
    intruder.deleteLater()


def test_space_plays_even_with_a_spin_box_focused(qtbot, window):
    spin = window.time_bar.speed
    window.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    playing = window.state.playing
    qtbot.keyClick(spin, " ")
    assert window.state.playing != playing


def test_reverse_and_loop_menu_entries_show_their_state(window):
    actions = {a.text(): a for a in window.menu("View").actions()}
    reverse, loop = actions["Reverse (data → noise)"], actions["Loop"]
    assert reverse.isCheckable() and not reverse.isChecked()
    window.time_bar.reverse.click()
    assert window.state.display.reverse and reverse.isChecked()
    loop.trigger()
    assert loop.isChecked() == window.state.display.loop


def test_shortcuts_table_lists_every_shortcut_and_about_has_the_version(window):
    from flowviz.gui.app.help import ShortcutsDialog, version

    dialog = ShortcutsDialog(list(window._menus.values()), window)
    cells = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    for keys in ("Space", "Ctrl+T", "Ctrl+E", "F11", "PgDown", "Ctrl+Z"):
        assert any(keys in c for c in cells), keys
    assert any("wheel" in dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount()))
    assert version() == "0.1.0"
