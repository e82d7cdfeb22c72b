"""What the window says holds: the shortcuts table fits its dialog however long an undo
entry's name, the error-map box says in words what it shows, Stop names the step the run
really ended on (the one Progress shows), and Train after Reset weights says it starts
from scratch."""

import re

import pytest
from PySide6.QtWidgets import QTableWidget

from flowviz.gui.app.help import ShortcutsDialog

LONG = "Open session " + "a-very-long-session-file-name-" * 6 + ".flowviz"


def test_the_shortcuts_table_never_scrolls_sideways(qtbot, window):
    window._edit({"count": 777}, LONG)  # an undo entry named after a long file
    dialog = ShortcutsDialog(list(window._menus.values()), window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table: QTableWidget = dialog.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    undo = rows[f"Undo {LONG}"]
    assert table.item(undo, 0).toolTip() == f"Undo {LONG}"  # whole where the cell elides
    header = table.horizontalHeader()
    used = sum(header.sectionSize(c) for c in range(table.columnCount()))
    qtbot.waitUntil(lambda: header.sectionSize(0) > 0)
    assert used <= table.viewport().width() + 1
    assert table.horizontalScrollBar().maximum() == 0
    for c in (1, 2):  # the keys and the menu are never cut
        for r in range(table.rowCount()):
            text = table.item(r, c).text()
            width = table.fontMetrics().horizontalAdvance(text)
            assert width <= header.sectionSize(c), (r, text)


def test_the_error_map_box_says_in_words_what_it_shows(window):
    box = window.extensions["training"].panel.error_box
    assert "|" not in box.text() and "error map" in box.text().lower()
    assert "exact" in box.text()
    assert "|v_θ" in box.toolTip() or "|v<sub>θ" in box.toolTip()  # the formula, on hover


def _step_in_progress(c) -> int:
    found = re.search(r"Step (\d+)", c.panel.progress.text())
    return int(found[1]) if found else -1


@pytest.mark.slow
def test_stop_names_the_step_progress_shows(qtbot, window, trainer):
    c = trainer
    c.train()
    qtbot.waitUntil(lambda: c.snapshot is not None and c.snapshot.step > 20)
    c.stop()
    said = re.search(r"Stopped at step (\d+)\.", window.statusBar().currentMessage())
    assert said, window.statusBar().currentMessage()
    step = int(said[1])
    assert c.worker.last_snapshot.step == step  # the run's own last step
    qtbot.waitUntil(lambda: _step_in_progress(c) == step)  # its final snapshot, queued
    assert c.snapshot.step == step


@pytest.mark.slow
def test_train_after_reset_weights_says_from_scratch(qtbot, window, trainer):
    c = trainer
    c.reset_weights()
    assert "Weights reset" in window.statusBar().currentMessage()
    c.train()
    message = window.statusBar().currentMessage()
    assert "from scratch" in message and "continuing" not in message
    assert c.worker.job.start_step == 0
    qtbot.waitUntil(lambda: c.snapshot is not None and c.snapshot.step > 0)
    c.stop()
    c.train()  # a run that did train: this one continues
    assert f"continuing from step {c.worker.job.start_step}" in (
        window.statusBar().currentMessage()
    )
    assert c.worker.job.start_step > 0
    c.stop()
