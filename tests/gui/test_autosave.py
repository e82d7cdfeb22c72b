"""Unsaved work on closing: the app's window asks Save / Discard / Cancel when the data or
the network changed since the last save or open, keeps an autosave while it runs, and the
next launch offers to restore it. The questions are answered by the tests (no dialog
waits), the autosave lives in a temporary folder."""

import shutil

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from flowviz import sessions
from flowviz.gui.app import autosave
from flowviz.gui.app.autosave import install_keeper
from flowviz.gui.app.launch import make_window
from flowviz.gui.sessions.controller import RECENT_KEY


@pytest.fixture
def answers(monkeypatch):
    """The answers the questions get ("unsaved": save | discard | cancel, "restore": bool)
    and the questions asked, in order."""
    given = {"unsaved": "discard", "restore": True, "asked": []}

    def unsaved(parent):
        given["asked"].append("unsaved")
        return given["unsaved"]

    def restore(parent, text):
        given["asked"].append(text)
        return given["restore"]

    monkeypatch.setattr(autosave, "ask_unsaved", unsaved)
    monkeypatch.setattr(autosave, "ask_restore", restore)
    return given


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "data"


def _launch(qtbot, settings, folder):
    """The app's window (with its keeper), math core loaded, playback paused."""
    w = make_window(settings)
    install_keeper(w, folder)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.core_ready):
        w.show()
    w.player.play(False)
    return w


def _change_data(qtbot, window) -> np.ndarray:
    window.load_preset("circles")
    qtbot.waitUntil(lambda: window.state.session.origin == "circles")
    return np.array(window.state.data)


def test_an_untouched_window_closes_without_a_question_or_an_autosave(
    qtbot, settings, folder, answers
):
    w = _launch(qtbot, settings, folder)
    keeper = w.extensions["keeper"]
    w.state.set_t(0.5)  # looking around is not work
    assert not keeper.unsaved()
    keeper.autosave()
    assert not keeper.writing() and not keeper.path.exists()
    assert w.close()
    assert answers["asked"] == []


def test_cancel_keeps_the_window_and_discard_closes_it_and_drops_the_autosave(
    qtbot, settings, folder, answers
):
    w = _launch(qtbot, settings, folder)
    keeper = w.extensions["keeper"]
    _change_data(qtbot, w)
    assert keeper.unsaved()
    qtbot.waitUntil(keeper.path.is_file)  # written a few seconds after the change
    qtbot.waitUntil(lambda: not keeper.writing())
    saved, _ = sessions.load(keeper.path)
    assert saved.origin == "circles"

    answers["unsaved"] = "cancel"
    assert not w.close()
    assert w.isVisible() and answers["asked"] == ["unsaved"]
    assert keeper.path.is_file()

    answers["unsaved"] = "discard"
    assert w.close()
    assert answers["asked"] == ["unsaved", "unsaved"]
    assert not keeper.path.exists()


def test_undoing_the_change_leaves_nothing_unsaved(qtbot, settings, folder, answers):
    w = _launch(qtbot, settings, folder)
    _change_data(qtbot, w)
    assert w.extensions["keeper"].unsaved()
    w.undo.undo()
    assert not w.extensions["keeper"].unsaved()
    assert w.close() and answers["asked"] == []


def test_save_writes_the_session_the_user_names(
    qtbot, settings, folder, answers, tmp_path, monkeypatch
):
    w = _launch(qtbot, settings, folder)
    data = _change_data(qtbot, w)
    target = tmp_path / "mine"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), sessions.FILTER)
    )
    answers["unsaved"] = "save"
    assert w.close()
    session, _trained = sessions.load(target.with_suffix(sessions.SUFFIX))
    np.testing.assert_array_equal(np.array(session.data), data)
    assert not w.extensions["keeper"].path.exists()


def test_cancelling_the_file_dialog_keeps_the_window(qtbot, settings, folder, answers, monkeypatch):
    w = _launch(qtbot, settings, folder)
    _change_data(qtbot, w)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    answers["unsaved"] = "save"
    assert not w.close() and w.isVisible()
    answers["unsaved"] = "discard"
    assert w.close()


def test_saving_from_the_file_menu_counts_as_saved(qtbot, settings, folder, answers, tmp_path):
    w = _launch(qtbot, settings, folder)
    _change_data(qtbot, w)
    assert w.extensions["sessions"].save_session(str(tmp_path / "s.flowviz"))
    assert not w.extensions["keeper"].unsaved()
    assert w.close() and answers["asked"] == []


def _crash_with_autosave(qtbot, settings, folder, answers, tmp_path):
    """A first run that changed the data and a network, then 'crashed': its autosave stays.
    -> the data it had."""
    w = _launch(qtbot, settings, folder)
    keeper, training = w.extensions["keeper"], w.extensions["training"]
    data = _change_data(qtbot, w)
    training.reset_weights()  # a network (untrained, step 0): part of the work
    assert training.snapshot is not None
    keeper.autosave()
    qtbot.waitUntil(lambda: not keeper.writing() and keeper.path.is_file())
    kept = tmp_path / "kept.flowviz"
    shutil.copy(keeper.path, kept)
    answers["unsaved"] = "discard"
    assert w.close()
    shutil.copy(kept, keeper.path)  # as a killed process leaves it
    answers["asked"].clear()
    return data


def test_the_next_launch_offers_the_autosave_and_restores_it(
    qtbot, settings, folder, answers, tmp_path
):
    data = _crash_with_autosave(qtbot, settings, folder, answers, tmp_path)
    w = _launch(qtbot, settings, folder)
    sessions_ = w.extensions["sessions"]
    qtbot.waitUntil(lambda: len(w.state.data) == len(data) and not sessions_.loading())
    np.testing.assert_array_equal(np.array(w.state.data), data)
    assert len(answers["asked"]) == 1 and f"{len(data)} data points" in answers["asked"][0]
    assert w.extensions["training"].snapshot is not None  # the network came back too
    assert w.extensions["keeper"].unsaved()  # restored, but saved in no file yet
    assert "autosave" not in str(settings.value(RECENT_KEY, ""))
    answers["unsaved"] = "discard"
    assert w.close()


def test_declining_the_restore_drops_the_autosave(qtbot, settings, folder, answers, tmp_path):
    _crash_with_autosave(qtbot, settings, folder, answers, tmp_path)
    answers["restore"] = False
    w = _launch(qtbot, settings, folder)
    assert len(answers["asked"]) == 1
    assert not w.extensions["keeper"].path.exists()
    assert w.extensions["training"].snapshot is None  # the kept network was not loaded
    assert not w.extensions["keeper"].unsaved()
    assert w.close()


@pytest.mark.slow
def test_closing_mid_training_asks_then_stops_and_joins(qtbot, settings, folder, answers):
    w = _launch(qtbot, settings, folder)
    training = w.extensions["training"]
    training.panel.width_box.setValue(32)
    training.panel.steps_box.setValue(0)  # until stopped
    training.train()
    qtbot.waitUntil(lambda: training.snapshot is not None and training.snapshot.step > 0)
    assert training.mode == "running"
    answers["unsaved"] = "discard"
    assert w.close()
    assert answers["asked"] == ["unsaved"]
    assert training.worker is None or not training.worker.isRunning()


def test_a_network_change_alone_is_autosaved_by_the_periodic_check(
    qtbot, settings, folder, answers, monkeypatch
):
    monkeypatch.setattr(autosave, "CHECK_MS", 200)  # the period while training (15 s)
    w = _launch(qtbot, settings, folder)
    keeper, training = w.extensions["keeper"], w.extensions["training"]
    training.reset_weights()  # the network changes, the Session does not
    assert keeper.unsaved()
    qtbot.waitUntil(lambda: keeper.path.is_file() and not keeper.writing())
    _session, trained = sessions.load(keeper.path)
    assert trained is not None and trained["step"] == training.snapshot.step
    assert w.close() and answers["asked"] == ["unsaved"]


def test_a_keeper_without_a_folder_uses_the_data_folder_tests_keep_private(
    qtbot, settings, answers, tmp_path
):
    w = _launch(qtbot, settings, None)
    assert w.extensions["keeper"].path == tmp_path / "app-data" / autosave.NAME
    assert w.close()
