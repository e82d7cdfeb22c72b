"""A launch survives any remembered setting (issue 22): a value no widget can show, of
the wrong type, or malformed JSON gives the defaults and says so once; no spin box is left
with its signals blocked; the next close saves good values, so the launch after is clean."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings

from flowviz.session import Session

WAIT = 90_000
GOOD = Session(origin="moons", count=300).patch(display={"particles": 200})


def _stored(session_value) -> dict:
    d = GOOD.to_dict(points=False)
    for path, value in session_value.items():
        *parents, last = path.split(".")
        part = d
        for key in parents:
            part = part[key]
        part[last] = value
    return d


BAD = {
    "count 2^40": {"session": json.dumps(_stored({"count": 2**40}))},
    "count -5": {"session": json.dumps(_stored({"count": -5}))},
    "width 2^40": {"session": json.dumps(_stored({"training.width": 2**40}))},
    "centre a number": {"session": json.dumps(_stored({"camera.center": 1}))},
    "not JSON": {"session": "{nope"},
    "radius text": {"tools/radius": "wide"},
}


@pytest.mark.parametrize("stored", BAD.values(), ids=BAD.keys())
def test_a_launch_survives_any_stored_value(qtbot, tmp_path, messages, stored):
    from flowviz.gui.app.launch import make_window

    settings = QSettings(str(tmp_path / "flowviz.ini"), QSettings.Format.IniFormat)
    settings.setValue("session", json.dumps(GOOD.to_dict(points=False)))
    for key, value in stored.items():
        settings.setValue(key, value)
    seen: list[str] = []
    w = make_window(settings)
    qtbot.addWidget(w)
    w.statusBar().messageChanged.connect(seen.append)
    with qtbot.waitSignal(w.core_ready, timeout=WAIT):
        w.show()
    assert "Settings not restored (defaults used)" in w.statusBar().currentMessage()
    w.player.play(False)
    assert not messages, "a bad setting is said in the status bar, not in a dialog"
    assert sum("not restored" in m for m in seen) <= 1, seen
    for box in (w.count, w.sigma, w.poly_n, w.radius, w.density, w.path_box):
        assert not box.signalsBlocked()
    w.count.setValue(500)  # the tool bar still drives the Session
    qtbot.waitUntil(lambda: w.state.session.count == 500, timeout=WAIT)
    w.close()

    again = make_window(settings)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.core_ready, timeout=WAIT):
        again.show()
    assert "not restored" not in again.statusBar().currentMessage()
    assert again.state.session.count == 500
    again.close()
