"""Live training in the window: the worker thread, its controls, the Learned view, the
loss chart, divergence, data changes, closing, checkpoints. Small model, CPU."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QFileDialog

from flowviz.core import checkpoint
from flowviz.session import LearnedOptions

#: ms to wait for a condition: generous, a busy machine (load 4-6) starts a run in ~15 s;
#: waits end as soon as the condition holds.
WAIT = 90_000


def _finite(weights) -> bool:
    return all(bool(torch.isfinite(w).all()) for w in weights.values())


def test_window_has_the_training_panel_and_keeps_torch_lazy():
    code = "import sys, flowviz.gui.app.main_window; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("backend", ["process", "thread"])
def test_train_pause_step_resume_stop(qtbot, window, trainer, backend):
    c, state = trainer, window.state
    if backend == "thread":
        c.process.close()  # the one started at launch
        c.process = None  # train in the worker thread itself
    assert window.findChild(type(c.dock), "training_dock") is c.dock
    state.set_t(1.0)  # particles at t = 1: the samples, which move as the network learns
    with qtbot.waitSignal(c.view.refreshed, timeout=WAIT):
        c.train()
    assert c.mode == "running" and c.worker.isRunning()
    first = c.snapshot
    drawn = c.view.scene.particles.positions().copy()
    assert len(drawn) == 200 and c.view.current_frame() is not None
    # a later snapshot, then a redraw (the view also redraws for other reasons: a refresh
    # alone need not bring a new step)
    qtbot.waitUntil(lambda: c.snapshot.step > first.step, timeout=WAIT)
    with qtbot.waitSignal(c.view.refreshed, timeout=WAIT):
        pass
    later = c.snapshot
    assert later.step > first.step and later.run == first.run
    assert math.isfinite(later.cfm_loss) and math.isfinite(later.fm_loss)
    assert later.weights is not first.weights
    assert c.chart.series.n >= later.step // later.config.report_every - 1
    assert not np.allclose(c.view.scene.particles.positions(), drawn)  # the view redrew

    c.pause()
    qtbot.waitUntil(c.worker.is_parked, timeout=WAIT)
    qtbot.wait(50)  # the snapshot of the resting step arrives
    held = c.snapshot.step
    qtbot.wait(300)
    assert c.snapshot.step == held and c.worker.isRunning()

    c.step()
    qtbot.waitUntil(lambda: c.snapshot.step == held + 1, timeout=WAIT)
    qtbot.wait(200)
    assert c.snapshot.step == held + 1

    c.resume()
    qtbot.waitUntil(lambda: c.snapshot.step > held + 50, timeout=WAIT)
    c.stop()
    assert not c.worker.isRunning() and c.mode == "idle"
    assert "Stopped" in window.statusBar().currentMessage()


def test_step_from_idle_takes_exactly_one_step(qtbot, window, trainer):
    c = trainer
    c.step()
    qtbot.waitUntil(lambda: c.snapshot is not None and c.snapshot.step == 1, timeout=WAIT)
    qtbot.waitUntil(c.worker.is_parked, timeout=WAIT)
    qtbot.wait(100)
    assert c.snapshot.step == 1 and c.mode == "paused"
    c.stop()


def test_closing_mid_training_stops_and_joins(qtbot, window, trainer):
    c = trainer
    window.player.play(True)
    with qtbot.waitSignal(c.view.refreshed, timeout=WAIT):
        c.train()
    worker = c.worker
    window.close()  # returns once the run is stopped and joined (how fast: bench_training)
    assert not worker.isRunning() and not c.process.alive()


@pytest.mark.parametrize("backend", ["process", "thread"])
def test_divergence_stops_with_a_message_and_keeps_finite_weights(
    qtbot, window, trainer, messages, backend
):
    c = trainer
    if backend == "thread":
        c.process.close()
        c.process = None
    c.panel.lr_box.setValue(1e8)
    c.train()
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=WAIT)
    assert "diverged" in messages[0] and "learning rate" in messages[0]
    assert c.mode == "idle" and not c.worker.isRunning()
    assert c.snapshot is not None and _finite(c.snapshot.weights)
    qtbot.waitUntil(lambda: c.view.field is not None, timeout=WAIT)  # the kept weights
    assert c.actions["train"].isEnabled()


def test_a_dead_training_process_is_reported_and_the_next_run_starts_a_new_one(
    qtbot, window, trainer, messages
):
    c = trainer
    c.train()
    qtbot.waitUntil(lambda: c.snapshot is not None, timeout=WAIT)
    c.process._proc.kill()
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=WAIT)
    assert "ended unexpectedly" in messages[0] and c.mode == "idle"
    step = c.snapshot.step
    c.train()
    qtbot.waitUntil(lambda: c.snapshot.step > step, timeout=WAIT)
    c.stop()


def test_changing_the_data_restarts_training(qtbot, window, trainer):
    c = trainer
    c.train()
    qtbot.waitUntil(lambda: c.snapshot is not None and c.snapshot.step >= 1000, timeout=WAIT)
    run, before = c.snapshot.run, c.snapshot.step
    window.preset.setCurrentText("circles")
    window.load_preset()
    qtbot.waitUntil(lambda: "restarted" in window.statusBar().currentMessage(), timeout=WAIT)
    assert c.worker.job.weights is None and c.worker.job.start_step == 0  # from scratch
    assert c.worker.job.data is window.state.data
    qtbot.waitUntil(lambda: c.snapshot is not None and c.snapshot.run > run, timeout=WAIT)
    assert c.snapshot.step < before and c.mode == "running"
    c.stop()


def test_checkpoint_round_trip_through_the_file_menu(
    qtbot, window, trainer, tmp_path, monkeypatch, messages
):
    c = trainer
    path = tmp_path / "net.pt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    c.train()
    qtbot.waitUntil(lambda: c.snapshot is not None and c.snapshot.step >= 100, timeout=WAIT)
    c.stop()
    saved, data = c.snapshot, np.array(window.state.data)
    c.actions["save_checkpoint"].trigger()
    assert path.is_file() and not messages
    assert checkpoint.load(path).step == saved.step  # the CLI's format

    window.preset.setCurrentText("circles")
    window.load_preset()
    c.panel.width_box.setValue(64)
    c.reset_weights()
    assert c.snapshot.step == 0

    c.actions["load_checkpoint"].trigger()
    assert c.loading() and "Loading net.pt" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not c.loading(), timeout=WAIT)
    assert not messages
    np.testing.assert_array_equal(window.state.data, data)
    assert c.panel.values().width == 32 and c.snapshot.step == saved.step
    for k, v in saved.weights.items():
        assert torch.equal(c.snapshot.weights[k], v)
    qtbot.waitUntil(lambda: c.view.field is not None, timeout=WAIT)
    window.undo.undo()  # loading is one undoable edit
    assert window.state.data.shape[0] == 300 and not np.array_equal(window.state.data, data)


def test_a_corrupt_checkpoint_is_refused_and_changes_nothing(
    qtbot, window, trainer, tmp_path, monkeypatch, messages
):
    c = trainer
    path = tmp_path / "broken.pt"
    path.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    c.reset_weights()
    before = (np.array(window.state.data), c.snapshot, c.panel.values(), window.undo.count())
    c.actions["load_checkpoint"].trigger()
    qtbot.waitUntil(lambda: not c.loading(), timeout=WAIT)
    assert len(messages) == 1 and "broken.pt" in messages[0]
    assert np.array_equal(window.state.data, before[0])
    assert (c.snapshot, c.panel.values(), window.undo.count()) == before[1:]


def test_few_solver_steps_show_discretisation_error(qtbot, window, trainer):
    c, view = trainer, trainer.view
    window.state.set_t(1.0)
    c.reset_weights()  # an untrained network: a field with some curvature
    c.panel.solver_box.setCurrentIndex(c.panel.solver_box.findData("rk4"))
    c.panel.solver_steps_box.setValue(64)
    assert window.state.session.learned == LearnedOptions(solver="rk4", steps=64)
    qtbot.waitUntil(lambda: not view.busy(), timeout=WAIT)
    fine = view.scene.particles.positions().copy()
    window.state.update(learned={"solver": "euler", "steps": 2})
    assert c.panel.solver_steps_box.value() == 2  # the panel shows the Session
    qtbot.waitUntil(lambda: not view.busy(), timeout=WAIT)
    coarse = view.scene.particles.positions()
    assert np.abs(coarse - fine).max() > 1e-3
    assert view.current_frame().heat is not None  # the error map


def test_a_cli_checkpoint_sets_data_path_settings_and_weights(
    qtbot, window, trainer, tmp_path, messages
):
    from flowviz.core import data, model, training

    config = training.with_overrides(
        training.TrainConfig(), path="polynomial", poly_n=3.0, width=16, depth=1, steps=50
    )
    points = data.preset("circles", 200, seed=3)
    net = model.build(config.model, seed=1)
    path = tmp_path / "cli.pt"
    checkpoint.save(path, model=net, config=config, data=points, step=50)
    c = trainer
    c.load_checkpoint(str(path))
    qtbot.waitUntil(lambda: not c.loading(), timeout=WAIT)
    assert not messages
    np.testing.assert_array_equal(window.state.data, points.numpy())
    assert window.state.path.name == "polynomial" and window.state.path.n == 3.0
    h = c.panel.values()
    assert (h.width, h.depth, h.steps, h.path) == (16, 1, 50, "")  # path: as the tool bar
    assert c.snapshot.step == 50 and c._config().poly_n == 3.0
    # One undoable patch: the tool bar shows the loaded path, the preset box the file.
    assert window.path_box.currentData() == "polynomial" and window.poly_n.value() == 3.0
    assert window.preset.currentIndex() == -1 and window.preset.placeholderText() == "cli.pt"
    assert window.undo.undoText() == "Load checkpoint cli.pt"
    window.undo.undo()
    assert window.state.path.name == "condot" and window.path_box.currentData() == "condot"
    assert c.snapshot is None and c.view.field is None  # the network before it: none


def test_train_without_data_says_so_and_starts_nothing(window, trainer):
    window.clear_points()
    trainer.actions["train"].trigger()
    assert trainer.mode == "idle" and trainer.worker is None
    assert "No data points" in window.statusBar().currentMessage()
    window.undo.undo()  # nothing was lost: the points come back
    assert len(window.state.data) > 0


def test_a_checkpoint_beyond_the_old_ranges_is_kept_as_stored(
    qtbot, window, trainer, tmp_path, messages
):
    """Issue 12, items 3-4: seed 2**32 - 1, depth 12, lr 1e-8 and batch 16384 (the CLI's
    ranges) load whole, are shown, and Train continues from the loaded weights."""
    from flowviz.core import data, limits, model, training

    config = training.with_overrides(
        training.TrainConfig(),
        width=16,
        depth=12,
        lr=1e-8,
        batch_size=16384,
        seed=limits.SEED.hi,
        steps=20,
    )
    net = model.build(config.model, seed=1)
    path = tmp_path / "wide.pt"
    checkpoint.save(path, model=net, config=config, data=data.preset("moons", 100), step=7)
    c, p = trainer, trainer.panel
    c.load_checkpoint(str(path))
    qtbot.waitUntil(lambda: not c.loading(), timeout=WAIT)
    assert not messages
    h = c.panel.values()
    assert (h.seed, h.depth, h.lr, h.batch_size) == (2**32 - 1, 12, 1e-8, 16384)
    assert (p.seed_box.seed(), p.depth_box.value(), p.batch_box.value()) == (2**32 - 1, 12, 16384)
    assert c.snapshot.step == 7
    c.train()
    assert "continuing from step 7" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: c.mode == "idle", timeout=WAIT)
    assert c.snapshot.step == 27 and not messages


def test_the_panel_takes_the_limits_ranges_and_batch_follows_the_coupling(window, trainer):
    from flowviz.core import limits

    p, state = trainer.panel, window.state
    assert (p.width_box.maximum(), p.depth_box.maximum()) == (limits.WIDTH.hi, limits.DEPTH.hi)
    assert (p.lr_box.minimum(), p.lr_box.maximum()) == (limits.LR.lo, limits.LR.hi)
    assert p.batch_box.maximum() == limits.BATCH_SIZE.hi
    p.seed_box.setValue(3_000_000_000)  # beyond a QSpinBox's 2**31 - 1
    assert state.session.training.seed == 3_000_000_000
    assert isinstance(state.session.training.seed, int)
    p.batch_box.setValue(10_000)
    assert state.session.training.batch_size == 10_000
    p.coupling_box.setCurrentIndex(p.coupling_box.findData("ot"))
    assert state.session.training.coupling == "ot"
    assert state.session.training.batch_size == limits.COUPLED_BATCH_SIZE.hi  # in one patch
    assert p.batch_box.maximum() == limits.COUPLED_BATCH_SIZE.hi
    p.coupling_box.setCurrentIndex(p.coupling_box.findData("independent"))
    assert p.batch_box.maximum() == limits.BATCH_SIZE.hi
    assert state.session.training.batch_size == limits.COUPLED_BATCH_SIZE.hi  # not changed back


def test_a_growing_loss_is_warned_about_in_the_panel_and_the_status_bar(
    qtbot, window, trainer, messages
):
    """Issue 12, item 14: lr 10 sends the loss up 100x within ~25 steps; the child
    process's warning reaches the window with its snapshot."""
    c = trainer
    said = []
    window.statusBar().messageChanged.connect(said.append)
    c.panel.lr_box.setValue(10.0)
    c.train()
    qtbot.waitUntil(lambda: c.warning is not None, timeout=WAIT)
    assert "learning rate is probably too high" in c.warning
    assert c.panel.warning.isVisible() and "too high" in c.panel.warning.text()
    assert any(m.startswith("Warning: the loss grew") for m in said)
    c.stop()
    c.panel.lr_box.setValue(2e-3)
    c.reset_weights()
    c.train()  # a new run clears it
    assert c.warning is None and not c.panel.warning.isVisible()
    c.stop()


def test_the_finished_status_names_the_losses_without_underscores(qtbot, window, trainer):
    c = trainer
    c.panel.steps_box.setValue(30)
    c.train()
    qtbot.waitUntil(lambda: c.mode == "idle", timeout=WAIT)
    text = window.statusBar().currentMessage()
    assert text.startswith("Finished: step 30, CFM loss ") and "FM loss" in text
    assert "_" not in text


@pytest.mark.parametrize("points", [[[0.5, -0.25]], [[1.0, 1.0]] * 40])
def test_sample_quality_with_a_zero_floor_shows_the_swd_alone(qtbot, window, trainer, points):
    """Issue 12, item 2: one point, or copies of one: the floor is 0, no ratio, no error."""
    from flowviz.core import quality

    failed = []
    window.worker.failed.connect(failed.append)
    c = trainer
    window.state.set_data(np.array(points, np.float32))
    c.reset_weights()
    qtbot.waitUntil(lambda: "Sample quality" in c.panel.quality.text(), timeout=WAIT)
    assert "floor 0" in c.panel.quality.text() and "×" not in c.panel.quality.text()
    assert c.quality is not None and c.quality[1] == 0.0 and not failed
    assert quality.ratio(swd=0.4, floor=0.0) is None
    assert quality.ratio(swd=0.4, floor=0.2) == pytest.approx(2.0)


def test_trained_state_round_trips_through_restore_trained(qtbot, window, trainer):
    """The session-file seam: weights, config, step and the loss history come back as if
    trained here, and Train continues from them."""
    c = trainer
    assert c.trained_state() is None
    c.panel.steps_box.setValue(60)
    c.train()
    qtbot.waitUntil(lambda: c.mode == "idle", timeout=WAIT)
    kept = c.trained_state()
    assert set(kept) == {"weights", "config", "step", "losses"}
    assert kept["step"] == 60 and len(kept["losses"]) == c.chart.series.n > 0
    assert all(w.device.type == "cpu" for w in kept["weights"].values())
    step, cfm, fm = kept["losses"][-1]
    assert isinstance(step, int) and math.isfinite(cfm) and math.isfinite(fm)

    c.reset_weights()
    assert c.trained_state()["step"] == 0 and c.trained_state()["losses"] == []
    c.restore_trained(kept["weights"], kept["config"], kept["step"], kept["losses"])
    back = c.trained_state()
    assert back["step"] == 60 and back["config"] == kept["config"]
    assert back["losses"] == kept["losses"]
    for k, v in kept["weights"].items():
        assert torch.equal(back["weights"][k], v)

    def shown() -> bool:  # the Learned view draws the restored weights
        drawn = c.view.field.model.state_dict()
        return all(torch.equal(drawn[k], v) for k, v in kept["weights"].items())

    qtbot.waitUntil(shown, timeout=WAIT)
    assert "L<sub>CFM</sub>" in c.panel.losses.text()
    c.panel.steps_box.setValue(10)
    c.train()
    assert "continuing from step 60" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: c.mode == "idle", timeout=WAIT)
    assert c.snapshot.step == 70


def test_sample_quality_updates_while_training_and_animating(qtbot, window, trainer):
    """The readout is not starved by the animation's frames: it follows the run."""
    c = trainer
    window.player.play(True)
    c.train()
    qtbot.waitUntil(lambda: c.quality is not None, timeout=WAIT)
    first = c.quality_step
    qtbot.waitUntil(lambda: c.quality_step > first and c.mode == "running", timeout=WAIT)
    assert "Sample quality" in c.panel.quality.text()
    c.stop()
    window.player.play(False)
