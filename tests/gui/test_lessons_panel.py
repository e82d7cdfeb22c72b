"""The Lesson dock: walking the lesson with Page Down sets each step's Session as its file
describes (one undo step each, its actions run), Back, leaving gives back the settings, a
step's display and probe last for it only, presenter type, Train → Reset settings to
defaults, a teacher's own lesson file, a bad one refused."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from flowviz import lessons
from flowviz.core.frames import typical_point

WAIT = 90_000


def _probe_text(action: str) -> str:
    """How the status bar starts when the probe of action ("probe X,Y") is shown."""
    x, y = lessons.parse_action(action).args
    return f"x = ({x:.2f}, {y:.2f})"


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
                if k == 0:  # Page Down (Next) works once a lesson runs
                    c.actions["start"].trigger()
                else:
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
                    assert window.statusBar().currentMessage().startswith(_probe_text(a))
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


def test_a_step_undoes_as_one_and_leaving_gives_back_the_settings(qtbot, window):
    c = window.extensions["lessons"]
    window.state.update(training={"width": 32}, learned={"steps": 7}, display={"arrows": "off"})
    before = window.state.session
    assert not c.running
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
    # What step 9 leaves behind (OT, 3 Euler steps), as if walked there.
    window.state.update(training={"coupling": "ot", "width": 128}, learned={"steps": 3})
    lesson_end = window.state.session
    c.actions["leave"].trigger()
    s = window.state.session
    assert not c.dock.isVisible() and not c.running
    for key in ("training", "learned", "display", "path", "views", "camera"):
        assert getattr(s, key) == getattr(before, key), key
    assert s.origin == "moons" and s.data is lesson_end.data  # the data stays
    assert window.undo.undoText().startswith("Leave lesson")
    window.undo.undo()  # keep the lesson's settings after all
    assert window.state.session == lesson_end
    assert not c.actions["next"].isEnabled() and not c.actions["leave"].isEnabled()


def test_closing_the_dock_leaves_the_lesson(qtbot, window):
    c = window.extensions["lessons"]
    before = window.state.session
    assert not c.actions["next"].isEnabled() and not c.actions["back"].isEnabled()
    assert not c.actions["leave"].isEnabled() and c.actions["start"].isEnabled()
    with qtbot.waitSignal(c.stepped, timeout=WAIT):
        c.actions["start"].trigger()
    window.player.play(False)
    assert c.actions["next"].isEnabled() and c.actions["leave"].isEnabled()
    assert window.state.session.display != before.display
    c.dock.close()
    assert not c.running and window.state.session.display == before.display
    assert not c.actions["next"].isEnabled()


def test_a_steps_display_and_probe_last_for_that_step_only(qtbot, window):
    """Step 4 probes and sets its own display; step 3 (Back) has no probe, and the
    display fields step 4 named are the lesson's base again."""
    c = window.extensions["lessons"]
    steps = lessons.load(lessons.DEFAULT).steps
    probe = next(k for k, s in enumerate(steps) if s.probes)
    other = probe - 1
    assert not steps[other].probes
    view = window.view("marginal")
    base = window.state.session.display
    try:
        with qtbot.waitSignal(c.stepped, timeout=WAIT):
            c.go(probe)
        assert len(view.scene.weights.data) > 0  # the posterior circles
        own = steps[probe].session.get("display", {})
        with qtbot.waitSignal(c.stepped, timeout=WAIT):
            c.back()
        assert len(view.scene.weights.data) == 0
        d, mine = window.state.session.display, steps[other].session.get("display", {})
        for key in own:
            want = mine.get(key, c.lesson.display.get(key, getattr(base, key)))
            assert getattr(d, key) == want, key
    finally:
        window.player.play(False)


def test_the_panel_type_grows_in_presenter_mode_and_the_counter_stays_on_one_line(qtbot, window):
    c = window.extensions["lessons"]
    with qtbot.waitSignal(c.stepped, timeout=WAIT):
        c.go(0)
    window.player.play(False)
    normal = c.panel.text.font().pointSizeF()
    counter = c.panel.counter
    assert normal >= 11 and not counter.wordWrap()
    qtbot.waitUntil(lambda: counter.width() >= counter.sizeHint().width())  # not cut
    window.presenter.set_scale(200)
    window.presenter_action.setChecked(True)
    try:
        qtbot.waitUntil(lambda: c.panel.text.font().pointSizeF() >= 1.9 * normal)
        assert c.panel.title.font().pointSizeF() > c.panel.text.font().pointSizeF()
        qtbot.waitUntil(lambda: counter.width() >= counter.sizeHint().width())
    finally:
        window.presenter_action.setChecked(False)
    qtbot.waitUntil(lambda: c.panel.text.font().pointSizeF() == normal)


def test_train_menu_resets_the_settings_to_defaults(qtbot, window):
    from flowviz.session import LearnedOptions, TrainSettings

    training = window.extensions["training"]
    window.state.update(training={"coupling": "ot", "width": 64}, learned={"solver": "euler"})
    changed = window.state.session
    training.actions["defaults"].trigger()
    s = window.state.session
    assert s.training == TrainSettings() and s.learned == LearnedOptions()
    assert s.data is changed.data and s.display == changed.display
    window.undo.undo()
    assert window.state.session == changed


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
        for a in actions:
            if a.startswith("probe "):
                assert "marginal" in s.views
                assert window.statusBar().currentMessage().startswith(_probe_text(a))
    finally:
        training.stop()
        window.player.play(False)
