"""Test-wide set-up: offscreen Qt, one torch thread pair, no leaked threads."""

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

#: What a condition or a signal may take by default (pytest-qt's own default is 5 s): a
#: machine busy with other work is slow, not wrong, and a wait ends as soon as it holds.
GENEROUS_MS = 60_000


@pytest.fixture(autouse=True)
def generous_waits(request, monkeypatch):
    """qtbot.waitUntil / waitSignal / waitSignals without a timeout wait up to a minute."""
    if "qtbot" not in request.fixturenames:
        return
    from pytestqt.qtbot import QtBot

    for name in ("waitUntil", "waitSignal", "waitSignals"):
        original = getattr(QtBot, name)

        def patient(self, *args, _original=original, timeout=GENEROUS_MS, **kwargs):
            return _original(self, *args, timeout=timeout, **kwargs)

        monkeypatch.setattr(QtBot, name, patient)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves a Python thread or a QThread running behind it."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
    qt_core = __import__("sys").modules.get("PySide6.QtCore")
    if qt_core is not None:
        from flowviz.gui.threads import running_qthreads

        alive = running_qthreads()
        assert not alive, f"QThreads left running: {alive}"
