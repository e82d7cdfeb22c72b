"""The Lesson dock: walking the lesson with Page Down sets each step's Session as its file
describes (one undo step each, its actions run), Back, leaving keeps the set-up, a
teacher's own lesson file, a bad one refused."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from flowviz import lessons
from flowviz.core.frames import typical_point

WAIT = 90_000


def _check_session(session, want: dict, actions: list[str], where: str):
    """The fields the step's file names have the values it gives."""
    for key, value in want.items():
        if isinstance(value, dict):
            for field, v in value.items():
                assert getattr(getattr(session, key), field) == v, (where, key, field)
        elif key == "views":
            assert list(session.views) == value, where
        elif key == "t" and "play" in actions:
            assert session.t >= value, where  # playing moves t on from the step's value
        else:
            assert getattr(session, key) == value, (where, key)


def test_page_down_walks_the_lesson_setting_each_steps_session(qtbot, window, messages):
    c = window.extensions["lessons"]
    training = window.extensions["training"]
    raw = json.loads(lessons.DEFAULT.read_text())["steps"]
    assert not c.dock.isVisible() and c.index == -1
    try:
        for k, step in enumerate(raw):
            undo = window.undo.count()
            with qtbot.waitSignal(c.stepped, timeout=WAIT):
                qtbot.keyClick(window, Qt.Key.Key_PageDown)
            s, actions = window.state.session, step.get("actions", [])
            where = f"step {k + 1}"
            assert c.index == k and c.dock.isVisible(), where
            _check_session(s, step.get("session", {}), actions, where)
            assert window.undo.count() == undo + 1, where  # the whole step: one undo step
            assert window.undo.undoText().startswith(f"Lesson step {k + 1}: ")
            assert c.panel.counter.text() == f"Step {k + 1} of {len(raw)}"
            assert c.panel.title.text() == step["title"]
            assert c.panel.text.font().pointSizeF() >= 11
            for a in actions:
                if a.startswith("preset "):
                    _, name, count = a.split()
                    assert s.origin == name and len(s.data) == int(count), where
                if a == "select typical":
                    assert s.selected == typical_point(s.data) >= 0, where
                if a.startswith("train "):
                    assert s.training.steps == int(a.split()[1]), where
                    assert training.mode == "running", where
                if a.startswith("probe "):
                    assert window.statusBar().currentMessage().startswith("x = (0.40, 0.60)")
            if "play" in actions:
                assert window.state.playing, where
            if "pause" in actions and "play" not in actions:
                assert not window.state.playing, where
        # The last step: Next does nothing more; Back goes to the step before.
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
        assert c.index == len(raw) - 1
        with qtbot.waitSignal(c.stepped, timeout=WAIT):
            qtbot.keyClick(window, Qt.Key.Key_PageUp)
        assert c.index == len(raw) - 2
        _check_session(window.state.session, raw[-2]["session"], raw[-2]["actions"], "back")
    finally:
        training.stop()
        window.player.play(False)
    assert not messages


def test_a_step_undoes_as_one_and_leaving_keeps_the_set_up(qtbot, window):
    c = window.extensions["lessons"]
    with qtbot.waitSignal(c.stepped, timeout=WAIT):
        c.go(0)
    window.player.play(False)
    first = window.state.session
    with qtbot.waitSignal(c.stepped, timeout=WAIT):
        c.next()
    second = window.state.session
    assert second.views == ("conditional",) and second.t == 0.5 and second.selected >= 0
    window.undo.undo()
    assert window.state.session == first
    window.undo.redo()
    assert window.state.session == second
    c.actions["leave"].trigger()
    assert not c.dock.isVisible() and window.state.session == second


def test_a_teachers_lesson_file(qtbot, window, tmp_path, monkeypatch, messages):
    c = window.extensions["lessons"]
    mine = {
        "format": "flowviz.lesson",
        "version": 1,
        "title": "Mine",
        "steps": [
            {"title": "Circles", "text": "Look at the rings.", "session": {"t": 0.25},
             "actions": ["preset circles 300", "pause"]},
            {"title": "VP", "text": "A curved path.", "session": {"path": {"name": "vp"}}},
        ],
    }  # fmt: skip
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(mine))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(c.stepped, timeout=WAIT):
        c.actions["open"].trigger()
    s = window.state.session
    assert c.lesson.title == "Mine" and c.index == 0
    assert s.origin == "circles" and len(s.data) == 300 and s.t == 0.25
    assert c.panel.counter.text() == "Step 1 of 2"
    with qtbot.waitSignal(c.stepped, timeout=WAIT):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.state.session.path.name == "vp" and window.state.session.t == 0.25

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**mine, "steps": [{"title": "x", "text": "y", "actions": ["fly"]}]}))
    before = window.state.session
    assert not c.open_lesson(str(bad))
    assert messages and messages[-1].startswith("bad.json: step 1: unknown action 'fly'")
    assert c.lesson.title == "Mine" and window.state.session is before


@pytest.mark.parametrize("k", range(len(lessons.load(lessons.DEFAULT).steps)))
def test_each_step_opened_directly_in_a_fresh_window_shows_its_views(qtbot, window, k):
    """A teacher jumps to step k first: a step showing the Conditional view has a z (its
    view draws a frame), a probe step shows its weights on the Marginal view."""
    c, training = window.extensions["lessons"], window.extensions["training"]
    window.state.update(selected=-1)  # as if never walked to: no z chosen yet
    actions = json.loads(lessons.DEFAULT.read_text())["steps"][k].get("actions", [])
    try:
        with qtbot.waitSignal(c.stepped, timeout=WAIT):
            c.go(k)
        s = window.state.session
        if "conditional" in s.views:
            assert 0 <= s.selected < len(s.data)
            view = window.view("conditional")
            qtbot.waitUntil(lambda: view.current_frame() is not None, timeout=WAIT)
        if any(a.startswith("probe ") for a in actions):
            assert "marginal" in s.views
            assert window.statusBar().currentMessage().startswith("x = (0.40, 0.60)")
    finally:
        training.stop()
        window.player.play(False)
