"""GUI fixtures: a MainWindow with private settings, its math core loaded, playback paused."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from flowviz.session import Session


@pytest.fixture(autouse=True)
def private_settings(tmp_path):
    """No test reads or writes the user's real settings."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture(autouse=True)
def private_data(tmp_path, monkeypatch):
    """No test reads or writes the user's autosave (gui.app.autosave's data folder)."""
    from flowviz.gui.app import autosave

    monkeypatch.setattr(autosave, "data_folder", lambda: tmp_path / "app-data")


@pytest.fixture
def settings(tmp_path):
    s = QSettings(str(tmp_path / "flowviz.ini"), QSettings.Format.IniFormat)
    # Keep the background work small: a remembered Session of 300 points, 200 particles.
    session = Session(origin="moons", count=300).patch(display={"particles": 200})
    s.setValue("session", json.dumps(session.to_dict(points=False)))
    return s


@pytest.fixture
def messages(monkeypatch):
    """Message boxes are recorded (their text, in order) instead of blocking."""
    from flowviz.gui.app import main_window

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    monkeypatch.setattr(main_window, "plain_warning", lambda parent, text: shown.append(text))
    return shown


@pytest.fixture
def window(qtbot, settings):
    from flowviz.gui.app.launch import make_window

    w = make_window(settings)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready, timeout=30_000):
        w.show()
    w.player.play(False)
    qtbot.waitExposed(w)
    yield w
    w.close()


def data_of(window) -> np.ndarray:
    return np.array(window.state.data)


@pytest.fixture
def trainer(window):
    """The window's training controller with a small, fast model that runs until stopped."""
    c = window.extensions["training"]
    p = c.panel
    p.width_box.setValue(32)
    p.depth_box.setValue(2)
    p.batch_box.setValue(64)
    p.steps_box.setValue(0)
    return c
