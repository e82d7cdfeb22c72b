"""GUI fixtures: a MainWindow with private settings, its math core loaded, playback paused."""

import numpy as np
import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def private_settings(tmp_path):
    """No test reads or writes the user's real settings."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture
def settings(tmp_path):
    s = QSettings(str(tmp_path / "flowviz.ini"), QSettings.Format.IniFormat)
    s.setValue("display/particles", 200)  # keep the background work small
    s.setValue("count", 300)
    return s


@pytest.fixture
def window(qtbot, settings):
    from flowviz.gui.app.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready, timeout=30_000):
        w.show()
    w.player.play(False)
    qtbot.waitExposed(w)
    yield w
    w.close()


def data_of(window) -> np.ndarray:
    return np.array(window.state.data)
