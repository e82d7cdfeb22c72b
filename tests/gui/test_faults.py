"""Fault drills (issue 12): what a lecture can throw at the window while it trains.

Closing mid-training twenty times, the training process killed with SIGKILL, the data
cleared under a run, a burst of path changes while animating. Each waits on conditions with
generous limits (a busy machine is slow, never wrong); none measures wall-clock time. The
autouse fixture of tests/conftest.py fails any drill that leaves a thread running.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PySide6.QtCore import QTimer

from flowviz import pictures

WAIT = 90_000  # ms; every wait ends as soon as its condition holds


def _small(c) -> None:
    """A small, fast network that trains until stopped."""
    p = c.panel
    p.width_box.setValue(32)
    p.depth_box.setValue(2)
    p.batch_box.setValue(64)
    p.steps_box.setValue(0)


def _children() -> set[int]:
    """Process ids whose parent is this process (Linux /proc; empty elsewhere)."""
    me, out = os.getpid(), set()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[-1].split()
            if int(fields[1]) == me and fields[0] != "Z":
                out.add(int(entry))
    return out


def test_closing_mid_training_twenty_times_leaks_nothing(qtbot, settings, messages):
    """Close while the run starts (the process may still import torch), while it trains,
    and while it is paused: every close stops and joins the run and ends the process.
    Every fifth window trains in the child process (its torch import costs ~20 s on a busy
    2-core machine), the others in the worker thread."""
    from flowviz.gui.app.launch import make_window

    before = _children()
    for i in range(20):
        w = make_window(settings)
        qtbot.addWidget(w)
        with qtbot.waitSignal(w.core_ready, timeout=WAIT):
            w.show()
        c = w.extensions["training"]
        if i % 5:  # the thread backend: the process started at launch is ended at once
            c.process.close()
            c.process = None
        _small(c)
        w.player.play(True)
        c.train()
        if i % 3 != 0:  # otherwise: close at once, while the run starts
            qtbot.waitUntil(lambda c=c: c.snapshot is not None, timeout=WAIT)
        if i % 3 == 2:
            c.pause()
        worker, process = c.worker, c.process
        w.close()  # returns once the run is stopped and joined
        assert not worker.isRunning() and not w.worker.isRunning()
        assert process is None or not process.alive()
        assert c.mode == "idle" and not messages
    assert _children() <= before, "training processes left behind"


def test_a_killed_training_process_is_reported_and_its_weights_kept(qtbot, window, messages):
    """kill -9 the child mid-run: the window says so, the Learned view keeps the last
    weights, and Train starts again (a new process), continuing from them."""
    c = window.extensions["training"]
    _small(c)
    c.train()
    qtbot.waitUntil(lambda: c.snapshot is not None and c.snapshot.step > 0, timeout=WAIT)
    qtbot.waitUntil(lambda: c.view.field is not None, timeout=WAIT)
    c.process._proc.kill()
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=WAIT)
    last = c.snapshot
    assert "ended unexpectedly" in messages[0]
    assert f"weights of step {last.step} are kept" in messages[0]
    assert c.mode == "idle" and not c.worker.isRunning()
    assert window.statusBar().currentMessage() == messages[0]

    def shown() -> bool:  # the view shows the run's last weights
        drawn = c.view.field.model.state_dict()
        return all(torch.equal(drawn[k], v) for k, v in last.weights.items())

    qtbot.waitUntil(shown, timeout=WAIT)
    assert c.actions["train"].isEnabled()
    c.train()
    assert f"continuing from step {last.step}" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: c.snapshot.step > last.step + 10, timeout=WAIT)
    assert c.process.alive() and len(messages) == 1
    c.stop()


def test_clearing_the_data_stops_the_run(qtbot, window, messages):
    c = window.extensions["training"]
    _small(c)
    c.train()
    qtbot.waitUntil(lambda: c.snapshot is not None, timeout=WAIT)
    worker = c.worker
    window.clear_points()
    qtbot.waitUntil(lambda: c.mode == "idle", timeout=WAIT)
    assert not worker.isRunning()
    assert window.statusBar().currentMessage() == "No data points left: training stopped."
    assert not messages
    window.undo.undo()  # the points come back; the run does not restart by itself
    assert len(window.state.data) > 0 and c.mode == "idle"
    c.train()
    qtbot.waitUntil(lambda: c.snapshot.run > worker.run_id, timeout=WAIT)
    c.stop()


def test_a_burst_of_path_changes_while_animating_stays_responsive(qtbot, window):
    """60 path changes while the animation plays: the window keeps answering, the last
    path is the one shown, and stale frame jobs do not pile up."""
    box = window.path_box
    names = [box.itemData(i) for i in range(box.count())]
    window.player.play(True)
    answered = []
    for i in range(60):
        box.setCurrentIndex(i % len(names))
        QTimer.singleShot(0, lambda i=i: answered.append(i))  # input the window must answer
        qtbot.wait(1)
    last = names[59 % len(names)]
    qtbot.waitUntil(lambda: len(answered) == 60, timeout=WAIT)
    assert window.state.session.path.name == last and box.currentData() == last
    assert window.worker.pending() <= 6, "stale frame jobs piled up"
    window.player.play(False)
    t = 0.37
    window.state.set_t(t)
    view = window.marginal
    qtbot.waitUntil(
        lambda: (
            view.current_frame() is not None and view.current_frame().t == t and not view.busy()
        ),
        timeout=WAIT,
    )
    expected = pictures.marginal(window.state.session, extent=view.extent).at(t).field
    np.testing.assert_allclose(view.current_frame().vectors, expected.vectors, rtol=1e-5, atol=1e-6)
