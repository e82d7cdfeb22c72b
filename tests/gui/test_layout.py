"""Readable at a projector's size: at 1280x720 and 1024x700, and in presenter mode at 200 %,
no two visible controls overlap and no view title is cut (checked on widget geometry)."""

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
    QWidget,
)

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


@pytest.mark.parametrize("size", [(1280, 720), (1024, 700)])
def test_nothing_overlaps_or_is_cut_at_projector_sizes(qtbot, window, size):
    window.showNormal()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().toTuple() == size)
    qtbot.waitUntil(lambda: not overlaps(window) and not cut_titles(window), timeout=10_000)


def test_presenter_mode_at_200_percent_keeps_the_controls_apart(qtbot, window):
    window.resize(1280, 720)
    window.presenter.set_scale(200)
    window.presenter_action.setChecked(True)
    assert window.presenter.on and window.presenter_bar.isVisible()
    assert not any(t.isVisible() for t in (window.findChild(QWidget, "tools_bar"),))
    qtbot.waitUntil(lambda: not overlaps(window) and not cut_titles(window), timeout=10_000)
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
