"""Test-wide set-up: offscreen Qt, one torch thread pair, no leaked threads."""

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


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
