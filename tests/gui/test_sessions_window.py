"""Session files in the window: save and open in a fresh window (everything equal: points
bitwise, settings, weights, loss history), bad files change nothing and say why, the
gallery opens, recent files, the first-launch start screen."""

import io
import json
import zipfile

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from flowviz import sessions
from flowviz.core.model import ModelConfig, build
from flowviz.core.training import TrainConfig
from flowviz.gui.app.edits import SessionEdit
from flowviz.gui.sessions.controller import START_KEY, gallery_files
from flowviz.session import Session

#: ms to wait for a condition (a busy 2-core machine); waits end as soon as it holds.
WAIT = 90_000


def _dialogs_return(monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def _fresh_window(qtbot, settings: QSettings):
    from flowviz.gui.app.launch import make_window

    w = make_window(settings)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready, timeout=WAIT):
        w.show()
    w.player.play(False)
    return w


def _remembered(tmp_path, name: str) -> QSettings:
    """Settings of a window that has been used before (no start screen), small work."""
    s = QSettings(str(tmp_path / name), QSettings.Format.IniFormat)
    session = Session(origin="moons", count=300).patch(display={"particles": 200})
    s.setValue("session", json.dumps(session.to_dict(points=False)))
    return s


def _open(qtbot, window, path):
    c = window.extensions["sessions"]
    c.open_session(str(path))
    qtbot.waitUntil(lambda: not c.loading(), timeout=WAIT)


def _trained():
    config = TrainConfig(steps=40, batch_size=64, model=ModelConfig(width=24, depth=2), seed=5)
    weights = {k: v.detach().clone() for k, v in build(config.model, seed=5).state_dict().items()}
    losses = [(25, 2.5, 2.0), (40, 1.75, 1.5)]
    return weights, config, 40, losses


def _set_up(window):
    """A Session unlike the defaults in every part, and a network with a loss history."""
    rng = np.random.default_rng(3)
    data = rng.standard_normal((211, 2)).astype(np.float32)
    data[0] = (-0.0, np.float32(1e-38))
    points = {"data": data, "source": rng.standard_normal((9, 2)).astype(np.float32)}
    patch = {**points, "origin": "drawn", "count": 211, "selected": 5}
    window.undo.push(SessionEdit.of(window.state, patch, "set up"))
    window.state.update(
        t=0.375,
        path={"name": "cosine", "sigma_min": 0.08},
        display={"arrows": "streamlines", "heat": "speed", "particles": 150, "trails": 3},
        learned={"solver": "rk4", "steps": 9, "error_map": False},
        training={"width": 24, "depth": 2, "batch_size": 64, "lr": 1e-3, "coupling": "ot"},
        camera={"center": (0.5, -0.25), "half": 2.5},
        views=("marginal", "learned"),
    )
    window.extensions["training"].restore_trained(*_trained())


def _same_trained(a, b):
    assert a is not None and b is not None
    assert a["config"] == b["config"] and a["step"] == b["step"]
    assert set(a["weights"]) == set(b["weights"])
    for k in a["weights"]:
        assert a["weights"][k].numpy().tobytes() == b["weights"][k].numpy().tobytes(), k
    assert a["losses"] == b["losses"]


def test_save_then_open_in_a_fresh_window_gives_everything_back(
    qtbot, window, tmp_path, monkeypatch, messages
):
    _set_up(window)
    path = tmp_path / "class.flowviz"
    _dialogs_return(monkeypatch, path)
    window.extensions["sessions"].actions["save"].trigger()
    assert path.is_file() and not messages
    saved = window.state.session
    trained = window.extensions["training"].trained_state()
    assert trained["step"] == 40 and len(trained["losses"]) == 2
    window.close()

    other = _fresh_window(qtbot, _remembered(tmp_path, "other.ini"))
    try:
        c = other.extensions["sessions"]
        with qtbot.waitSignal(c.opened, timeout=WAIT):
            c.actions["open"].trigger()
        back = other.state.session
        assert back == saved and not back.changed(saved)
        assert back.data.tobytes() == saved.data.tobytes()
        assert back.source.tobytes() == saved.source.tobytes()
        _same_trained(trained, other.extensions["training"].trained_state())
        view = other.extensions["training"].view
        qtbot.waitUntil(lambda: view.field is not None, timeout=WAIT)  # the Learned view has it
        assert c.recent()[0] == str(path.resolve())
        assert not messages
    finally:
        other.close()


def test_opening_is_one_undo_step(qtbot, window, tmp_path):
    before = window.state.session
    path = tmp_path / "s.flowviz"
    target = Session(data=np.ones((4, 2)), origin="drawn", t=0.5).patch(display={"particles": 50})
    sessions.save(path, target)
    count = window.undo.count()
    _open(qtbot, window, path)
    assert window.state.session == target
    assert window.undo.count() == count + 1 and "s.flowviz" in window.undo.undoText()
    window.undo.undo()
    assert window.state.session == before


def _shown_weights(training) -> dict:
    """The weights the Learned view computes with, as arrays (none before it has them)."""
    field = training.view.field
    weights = field.model.state_dict() if field is not None else {}
    return {k: v.detach().numpy().copy() for k, v in weights.items()}


def _same_weights(shown: dict, trained: dict) -> bool:
    return set(shown) == set(trained["weights"]) and all(
        np.array_equal(shown[k], trained["weights"][k].numpy()) for k in shown
    )


def test_undo_of_an_open_gives_back_the_network_shown_before(qtbot, window):
    training = window.extensions["training"]
    first, second = gallery_files()[:2]
    net_first, net_second = sessions.load(first)[1], sessions.load(second)[1]
    assert training.trained_state() is None  # a fresh window: not trained
    _open(qtbot, window, first)
    _open(qtbot, window, second)
    _same_trained(net_second, training.trained_state())
    qtbot.waitUntil(lambda: _same_weights(_shown_weights(training), net_second), timeout=WAIT)

    window.undo.undo()  # back to the first session and its network, loss history too
    assert window.state.session == sessions.load(first)[0]
    _same_trained(net_first, training.trained_state())
    qtbot.waitUntil(lambda: _same_weights(_shown_weights(training), net_first), timeout=WAIT)

    window.undo.undo()  # back to before any open: not trained
    assert training.trained_state() is None and training.view.field is None
    assert training.chart.history() == [] and training.mode == "idle"

    window.undo.redo()
    window.undo.redo()
    _same_trained(net_second, training.trained_state())
    qtbot.waitUntil(lambda: _same_weights(_shown_weights(training), net_second), timeout=WAIT)


def test_undo_of_an_open_stops_a_run_and_keeps_its_network_for_redo(qtbot, window):
    training = window.extensions["training"]
    training.restore_trained(*_trained())
    net_before = training.trained_state()
    _open(qtbot, window, gallery_files()[0])
    window.state.update(training={"steps": 100_000})
    training.train()  # continues from the file's network
    qtbot.waitUntil(
        lambda: training.snapshot is not None and training.snapshot.step > 1500, timeout=WAIT
    )
    window.undo.undo()
    assert training.mode == "idle" and (training.worker is None or not training.worker.isRunning())
    _same_trained(net_before, training.trained_state())
    window.undo.redo()  # the network as trained after the open, not the file's
    assert training.trained_state()["step"] > 1500


def _good(tmp_path):
    path = tmp_path / "good.flowviz"
    weights, config, step, losses = _trained()
    sessions.save(
        path,
        Session(data=np.ones((3, 2)), t=0.9),
        {"weights": weights, "config": config, "step": step, "losses": losses},
    )
    return path


def _rewrite(src, out, *, drop=(), add=(), replace=None):
    replace = replace or {}
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out, "w") as b:
        for item in a.infolist():
            if item.filename not in drop:
                b.writestr(item.filename, replace.get(item.filename, a.read(item.filename)))
        for name, raw in add:
            b.writestr(name, raw)


def _pickled_npy():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


def _newer(src):
    meta = json.loads(zipfile.ZipFile(src).read("session.json"))
    meta["version"] = 2
    return json.dumps(meta).encode()


BAD = {
    "truncated": lambda g, o: o.write_bytes(g.read_bytes()[:-200]),
    "foreign": lambda g, o: o.write_bytes(b"%PDF-1.4 not a session"),
    "foreign zip": lambda g, o: _rewrite(g, o, drop=["session.json"]),
    "traversal": lambda g, o: _rewrite(g, o, add=[("../../outside.txt", b"x")]),
    "pickled": lambda g, o: _rewrite(g, o, replace={"data.npy": _pickled_npy()}),
    "pickle member": lambda g, o: _rewrite(g, o, add=[("payload.pkl", b"\x80\x04K\x01.")]),
    "newer": lambda g, o: _rewrite(g, o, replace={"session.json": _newer(g)}),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_file_changes_nothing_and_says_why(qtbot, window, tmp_path, messages, kind):
    c, training = window.extensions["sessions"], window.extensions["training"]
    training.restore_trained(*_trained())
    before, undo = window.state.session, window.undo.count()
    trained = training.trained_state()
    bad = tmp_path / f"bad-{kind.replace(' ', '-')}.flowviz"
    BAD[kind](_good(tmp_path), bad)
    with qtbot.waitSignal(c.failed, timeout=WAIT) as failed:
        c.open_session(str(bad))
    assert window.state.session is before and window.undo.count() == undo
    _same_trained(trained, training.trained_state())
    assert len(messages) == 1 and messages[0] == failed.args[0]
    assert messages[0].startswith(f"{bad.name}: ") and "\n" not in messages[0]
    assert str(bad.resolve()) not in c.recent()


def test_the_gallery_has_four_sessions_and_each_opens(qtbot, window, messages):
    files = gallery_files()
    assert len(files) >= 4
    c = window.extensions["sessions"]
    c._fill_gallery()
    titles = [a.text() for a in c.gallery_menu.actions()]
    assert len(titles) == len(files) and all(titles)
    for path in files:
        assert path.stat().st_size < 1 << 20
        session, trained = sessions.load(path)
        with qtbot.waitSignal(c.opened, timeout=WAIT):
            c.open_session(str(path))
        assert window.state.session == session, path.name
        if trained is not None:
            got = window.extensions["training"].trained_state()
            assert got["step"] == trained["step"] and got["config"] == trained["config"]
    assert not messages
    sources = [sessions.load(p)[0].source is not None for p in files]
    assert any(sources)  # the drawn source to a drawn target


def test_recent_files_keep_the_newest_eight(qtbot, window, tmp_path):
    c = window.extensions["sessions"]
    for k in range(10):
        assert c.save_session(str(tmp_path / f"s{k}.flowviz"))
    recent = c.recent()
    assert len(recent) == 8 and recent[0].endswith("s9.flowviz")
    c._fill_recent()
    actions = c.recent_menu.actions()
    assert [a.text() for a in actions][:2] == ["s9.flowviz", "s8.flowviz"]
    window.player.play(False)  # t stays where the file puts it
    window.state.update(t=0.77)
    with qtbot.waitSignal(c.opened, timeout=WAIT):
        actions[3].trigger()  # s6, saved at t = 0
    assert window.state.t == 0.0


def test_first_launch_shows_a_start_screen_once(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "first.ini"), QSettings.Format.IniFormat)
    from flowviz.gui.app.launch import make_window

    w = make_window(settings)
    qtbot.addWidget(w)
    w.show()
    c = w.extensions["sessions"]
    qtbot.waitUntil(lambda: c.start_screen is not None and c.start_screen.isVisible(), timeout=WAIT)
    screen = c.start_screen
    assert not screen.isModal() and len(screen.buttons) >= 4
    qtbot.waitUntil(lambda: w.state.path is not None, timeout=WAIT)  # the core loaded
    w.player.play(False)
    screen.draw_button.click()
    qtbot.waitUntil(lambda: len(w.state.data) == 0, timeout=WAIT)
    assert w.state.session.origin == "drawn" and w.tools.tool == "brush"
    assert c.start_screen is None and settings.value(START_KEY) in (True, "true")
    w.close()

    again = QSettings(str(tmp_path / "first.ini"), QSettings.Format.IniFormat)
    again.remove("session")  # even without remembered settings: dismissed stays dismissed
    w2 = make_window(again)
    qtbot.addWidget(w2)
    with qtbot.waitSignal(w2.core_ready, timeout=WAIT):
        w2.show()
    w2.player.play(False)
    assert w2.extensions["sessions"].start_screen is None
    w2.close()


def test_the_start_screen_opens_a_gallery_session(qtbot, tmp_path, messages):
    settings = QSettings(str(tmp_path / "first.ini"), QSettings.Format.IniFormat)
    from flowviz.gui.app.launch import make_window

    w = make_window(settings)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready, timeout=WAIT):
        w.show()
    w.player.play(False)
    c = w.extensions["sessions"]
    qtbot.waitUntil(lambda: c.start_screen is not None, timeout=WAIT)
    path = gallery_files()[0]
    with qtbot.waitSignal(c.opened, timeout=WAIT):
        c.start_screen.buttons[str(path)].click()
    assert w.state.session == sessions.load(path)[0]
    assert not messages
    w.close()


def test_a_window_that_was_used_before_shows_no_start_screen(window):
    assert window.extensions["sessions"].start_screen is None
