"""Live training on a MainWindow: install_training(window) adds the Learned view, the
Training and Loss docks, the Train menu and the checkpoint items of the File menu.

TrainingController wires them: it starts a TrainingWorker per run (the run, in a child
process or in the worker's thread, owns the training model; the UI never touches it),
takes its snapshots on the UI thread (loss chart, readouts), hands the newest weights to
the Learned view as a fresh frozen InferenceField when the view has caught up (at most
every VIEW_INTERVAL), measures sample quality on the frame worker at most every
QUALITY_INTERVAL, restarts cleanly when the data changes, and stops and joins the run
(and ends the training process) when the window closes.

A run continues from the current weights when they fit (same architecture, same data);
Reset weights starts over from the seeded initialisation. Each run trains `steps` more
steps with its own cosine learning-rate decay.
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand
from PySide6.QtWidgets import QDockWidget, QFileDialog, QStyle

from flowviz.gui.app.edits import SessionEdit
from flowviz.gui.app.window_api import scrolled
from flowviz.gui.panels.loss_chart import LossChart
from flowviz.gui.panels.training import TrainingPanel, WholeHeight
from flowviz.gui.training.worker import (
    Snapshot,
    TrainingProcess,
    TrainingWorker,
    TrainJob,
    frozen_weights,
    initial_snapshot,
)
from flowviz.gui.views.learned_view import LearnedView
from flowviz.session import FOLLOW

if TYPE_CHECKING:
    from flowviz.core.training import TrainConfig
    from flowviz.gui.app.window_api import WindowSeams

# Each weight update of the Learned view costs the frame worker ~0.2 s of a core (its
# particles, then each frame as it is shown) and a readout ~0.1 s: on 2 cores shared with
# the UI and the training process these rates keep the animation fluid.
VIEW_INTERVAL = 1.0  # s between weight updates of the Learned view while training
QUALITY_INTERVAL = 2.0  # s between sample-quality readouts while training
READOUT_MS = 250  # the step / loss labels change at most 4 times a second
CHECKPOINT_FILTER = "flowviz checkpoints (*.pt);;All files (*)"
IDLE, RUNNING, PAUSED = "idle", "running", "paused"
#: "process" (train in a child process: its own GIL, full speed while the UI animates) or
#: "thread" (train in the worker thread); FLOWVIZ_TRAINING=thread chooses the latter.
BACKEND = os.environ.get("FLOWVIZ_TRAINING", "process")


def install_training(window: WindowSeams) -> TrainingController:
    """Give the window live training (call once, before its layout is restored)."""
    return TrainingController(window)


class TrainingController(QObject):
    """The training seam of the window: train(), pause(), resume(), step(), stop(),
    reset_weights(), save_checkpoint(filename), load_checkpoint(filename) (in the
    background: loading() says while), trained_state() / restore_trained(...) (for session
    files), edit(session_edit, trained) (a Session patch and its network as one undo step);
    mode is "idle" | "running" | "paused"; snapshot is the newest Snapshot (None
    before any); warning the current run's loss-growth warning (None: none); worker the
    TrainingWorker of the current run (None before the first)."""

    def __init__(self, window: WindowSeams):
        super().__init__(window)
        self.state = window.state
        self.mode = IDLE
        self._starter: threading.Thread | None = None
        self.snapshot: Snapshot | None = None
        self.worker: TrainingWorker | None = None
        use_process = BACKEND == "process" and TrainingProcess.available()
        self.process = TrainingProcess() if use_process else None
        self.quality: tuple[float, float] | None = None  # (swd, floor) of the shown weights
        self.quality_step = -1  # the step of the weights that quality measured
        self.warning: str | None = None  # the current run's loss-growth warning
        self._loads = 0  # checkpoint loads in flight on the frame worker
        self._run = 0
        self._last_seq = 0
        self._ready = False
        self._closed = False
        self._weights_data = None  # the data (and source) the current weights were trained on
        self._weights_source = None
        self._view_pending: Snapshot | None = None
        self._view_snapshot: Snapshot | None = None
        self._applied_at = -math.inf
        self._quality_at = -math.inf
        self._quality_busy = False
        self._quality_again = False
        self._floor: tuple[object, float, object] | None = None  # (data, sigma_min, Floor)

        self.actions = self._build_actions()
        self.view = LearnedView(self.state, worker=window.worker, style=window.style_)
        self.view.refreshed.connect(self._pump)
        window.add_view("learned", "Learned", self.view)
        self.panel = TrainingPanel(self.state, self.actions)
        self.panel.changed.connect(self._on_panel_changed)
        self.chart = LossChart(window.style_)
        self.dock = self._dock("Training", "training_dock", self.panel)
        self.loss_dock = self._dock("Loss", "loss_dock", self.chart)
        area = Qt.DockWidgetArea.RightDockWidgetArea
        window.add_dock(self.dock, area, tab_with="display_dock")
        self.dock.raise_()
        window.add_dock(self.loss_dock, Qt.DockWidgetArea.RightDockWidgetArea)
        window.resizeDocks([self.dock, self.loss_dock], [340, 340], Qt.Orientation.Horizontal)
        # The whole panel stays in view (its readouts too); the chart takes the rest.
        WholeHeight(self.dock.widget())

        self._pump_timer = QTimer(self, singleShot=True)
        self._pump_timer.timeout.connect(self._pump)
        self._readout_timer = QTimer(self, singleShot=True, interval=READOUT_MS)
        self._readout_timer.timeout.connect(self._show_progress)
        self._restart_timer = QTimer(self, singleShot=True, interval=0)
        self._restart_timer.timeout.connect(self._restart_for_new_data)
        for sig in (self.state.data_changed, self.state.source_changed):
            sig.connect(self._on_data_changed)
        self.state.path_changed.connect(self._on_path_changed)
        window.core_ready.connect(self._on_core_ready)
        window.closing.connect(self.shutdown)
        self._update_actions()

    @property
    def window(self) -> WindowSeams:
        """The window (the Qt parent: no Python reference cycle keeps it alive)."""
        return self.parent()

    # ------------------------------------------------------------ building

    def _dock(self, title: str, name: str, widget) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(scrolled(widget))
        return dock

    def _build_actions(self) -> dict[str, QAction]:
        w = self.window
        icon = w.style().standardIcon
        sp = QStyle.StandardPixmap
        specs = {
            "train": ("&Train", "Ctrl+T", sp.SP_MediaPlay, self.train,
                      "Train the network v_θ on the data (continues from the current weights)"),
            "pause": ("&Pause", "Ctrl+P", sp.SP_MediaPause, self.pause,
                      "Pause training between two steps (the step count holds)"),
            "resume": ("Res&ume", "Ctrl+R", sp.SP_MediaPlay, self.resume,
                       "Resume a paused run"),
            "step": ("St&ep", "Ctrl+.", sp.SP_MediaSkipForward, self.step,
                     "Exactly one optimizer step, then pause"),
            "stop": ("St&op", "Ctrl+Shift+T", sp.SP_MediaStop, self.stop,
                     "End the run (the trained weights stay)"),
            "reset": ("Reset &weights", "Ctrl+Shift+R", sp.SP_BrowserReload, self.reset_weights,
                      "Start over from freshly initialised weights (step 0)"),
        }  # fmt: skip
        actions = {}
        menu = w.menu("Train")
        for key, (text, shortcut, pixmap, slot, tip) in specs.items():
            actions[key] = a = _window_action(w, text, shortcut, slot, tip, icon(pixmap))
            menu.addAction(a)
        menu.addSeparator()
        actions["defaults"] = a = QAction("Reset &settings to defaults", w)
        a.setStatusTip("Training and Learned-view settings back to the app's defaults (undoable)")
        a.triggered.connect(lambda _=False: self.reset_settings())
        menu.addAction(a)
        file_menu = w.menu("File")
        before = next((a for a in file_menu.actions() if a.isSeparator()), None)
        for key, text, shortcut, slot, tip in (
            ("save_checkpoint", "Save &checkpoint…", "Ctrl+Shift+S", self.save_checkpoint_dialog,
             "Save the network, its training settings and the data (the CLI's format)"),
            ("load_checkpoint", "&Load checkpoint…", "Ctrl+Shift+O", self.load_checkpoint_dialog,
             "Load a checkpoint saved here or by `flowviz train`: data, settings and weights"),
        ):  # fmt: skip
            actions[key] = a = _window_action(w, text, shortcut, slot, tip)
            file_menu.insertAction(before, a) if before else file_menu.addAction(a)
        if before is not None:
            file_menu.insertSeparator(actions["save_checkpoint"])
        return actions

    def _update_actions(self) -> None:
        ok = self._ready and not self._closed
        a, mode = self.actions, self.mode
        a["train"].setEnabled(ok and mode == IDLE)
        a["pause"].setEnabled(ok and mode == RUNNING)
        a["resume"].setEnabled(ok and mode == PAUSED)
        a["step"].setEnabled(ok and mode in (IDLE, PAUSED))
        a["stop"].setEnabled(ok and mode != IDLE)
        a["reset"].setEnabled(ok)
        a["save_checkpoint"].setEnabled(ok)
        a["load_checkpoint"].setEnabled(ok)

    # ------------------------------------------------------------ commands

    def train(self) -> None:
        """Start a run (from the current weights when they fit), or resume a paused one."""
        if self.mode == PAUSED:
            self.resume()
        elif self.mode == IDLE:
            self._start(fresh=False)

    def pause(self) -> None:
        if self.mode == RUNNING and self.worker is not None:
            self.worker.pause()
            self._set_mode(PAUSED)
            self.window.show_status(f"Paused at step {self._step()}: Resume (Ctrl+R) or Step.")

    def resume(self) -> None:
        if self.mode == PAUSED and self.worker is not None:
            self.worker.resume()
            self._set_mode(RUNNING)

    def step(self) -> None:
        """Exactly one optimizer step; from idle this starts a paused run first."""
        if self.mode == IDLE and not self._start(fresh=False, paused=True):
            return
        if self.mode == PAUSED and self.worker is not None:
            self.worker.step_once()

    def stop(self) -> None:
        """End the run after its current step and join its thread."""
        if self.worker is not None:
            self.worker.stop()
        if self.mode != IDLE:
            self._set_mode(IDLE)
            # The run's true last step (the thread has ended): its final snapshot, still
            # queued for the Progress readout, shows the same.
            last = self.worker.last_snapshot if self.worker is not None else None
            step = last.step if last is not None and last.run == self._run else self._step()
            self.window.show_status(f"Stopped at step {step}.")

    def reset_weights(self) -> None:
        """Freshly initialised weights at step 0; a run in progress starts over."""
        if self.mode != IDLE:
            self._start(fresh=True, paused=self.mode == PAUSED)
            self.window.show_status("Weights reset: training starts over from step 0.")
            return
        config = self._config()
        if config is None:
            return
        self._run += 1
        self._weights_data, self._weights_source = self.state.data, self.state.source
        self.chart.clear()
        self._on_snapshot(initial_snapshot(config, run=self._run))
        self.window.show_status("Weights reset: the untrained network (step 0).")

    def reset_settings(self) -> None:
        """The training and Learned-view settings back to the app's defaults, one undo step
        (the weights stay: the next run trains with the defaults)."""
        from flowviz.session import LearnedOptions, TrainSettings

        s = self.state.session
        back = {"training": TrainSettings(), "learned": LearnedOptions()}
        back = {k: v for k, v in back.items() if getattr(s, k) != v}
        if back:
            self.window.undo.push(SessionEdit.of(self.state, back, "Reset settings to defaults"))
        self.window.show_status("Training and Learned-view settings are the defaults.")

    def shutdown(self) -> None:
        """The window is closing: stop and join the run; ignore anything still queued."""
        self._closed = True
        self._pump_timer.stop()
        self._readout_timer.stop()
        self._restart_timer.stop()
        if self.worker is not None:
            self.worker.stop()
        if self._starter is not None:
            self._starter.join()  # a Popen in flight: close() then ends what it started
        if self.process is not None:
            self.process.close()
        self.mode = IDLE
        self._update_actions()

    # ------------------------------------------------------------ runs

    def _config(self) -> TrainConfig | None:
        """The TrainConfig of the Session; None (with the reason shown) when its settings do
        not make a valid one."""
        from flowviz.core.training import resolve_device
        from flowviz.session import train_config

        if self.state.path is None:
            return None
        session = self.state.session
        try:
            device = str(resolve_device(session.training.device))
            return train_config(session, device=device)
        except (ValueError, RuntimeError) as exc:
            self.window.show_error(f"Cannot train with these settings: {exc}")
            return None

    def _start(self, *, fresh: bool, paused: bool = False) -> bool:
        if self._closed or not self._ready:
            return False
        if len(self.state.data) == 0:
            self.window.show_status("No data points to train on: draw some or pick a preset.")
            return False
        config = self._config()
        if config is None:
            return False
        old = self.worker
        if old is not None:
            old.stop()
        same_data = (
            self._weights_data is self.state.data and self._weights_source is self.state.source
        )
        base = self.snapshot
        if old is not None and old.run_id == self._run and old.last_snapshot is not None:
            base = old.last_snapshot  # the run's true last weights (later ones may be queued)
        weights, start = None, 0
        if (
            not fresh
            and base is not None
            and same_data
            and base.config.model == config.model
            and base.run == self._run
        ):
            weights, start = base.weights, base.step
        self._run += 1
        self._last_seq = 0
        self._weights_data, self._weights_source = self.state.data, self.state.source
        self.warning = None
        self.panel.show_warning(None)
        if weights is None:
            self.chart.clear()
            self.snapshot = None
            self.panel.progress.setText("Step 0: starting…")
        job = TrainJob(
            data=self.state.data,
            source=self.state.source,
            config=config,
            weights=None if weights is None else {k: v.numpy() for k, v in weights.items()},
            start_step=start,
        )
        # No Qt parent: the thread object lives exactly as long as its Python wrapper (the
        # registry of threads holds weak references), and every run is joined before that.
        worker = TrainingWorker(job, run=self._run, paused=paused, process=self.process)
        queued = Qt.ConnectionType.QueuedConnection
        worker.snapshot.connect(self._on_snapshot, queued)
        worker.failed.connect(self._on_failed, queued)
        worker.ended.connect(self._on_ended, queued)
        self.worker = worker
        self.chart.set_coupling(config.coupling)
        self._set_mode(PAUSED if paused else RUNNING)
        worker.start()
        if not paused:
            # step 0: the reset (or never trained) weights, not a run to continue
            how = f"continuing from step {start}" if start else "from scratch"
            self.window.show_status(f"Training {how} on {_device_label(config.device)}…")
        return True

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        self._update_actions()

    def _step(self) -> int:
        return self.snapshot.step if self.snapshot is not None else 0

    # ------------------------------------------------------------ worker signals

    def _on_snapshot(self, snap: Snapshot) -> None:
        if self._closed or snap.run != self._run or (snap.seq and snap.seq <= self._last_seq):
            return
        self._last_seq = snap.seq
        self.snapshot = snap
        self.chart.add(snap.reports)
        if snap.warning:
            self.warning = snap.warning
            self.panel.show_warning(snap.warning)
            self.window.show_status(f"Warning: {snap.warning}.")
        if snap.final or self.mode != RUNNING:
            self._show_progress()
        elif not self._readout_timer.isActive():
            self._readout_timer.start()
        self._view_pending = snap
        self._pump()

    def _on_failed(self, run: int, message: str) -> None:
        if self._closed or run != self._run:
            return
        if self.worker is not None:
            self.worker.wait()  # it ends right after saying why
        self._set_mode(IDLE)
        snap = self.snapshot
        if snap is not None and snap.run == run and "kept" not in message:
            # The run's newest weights stay in the Learned view; Train continues from them.
            message += f" The weights of step {snap.step} are kept: Train continues from them."
        self.window.show_error(message)

    def _on_ended(self, run: int) -> None:
        if self._closed or run != self._run or self.mode == IDLE:
            return
        if self.worker is not None:
            self.worker.wait()
        self._set_mode(IDLE)
        snap = self.snapshot
        if snap is not None:  # plain text (the status bar): the losses by name, no L_CFM
            warned = (
                " (the loss grew during the run: see the Training panel)" if self.warning else ""
            )
            self.window.show_status(
                f"Finished: step {snap.step}, CFM loss {snap.cfm_loss:.4g}, "
                f"FM loss {snap.fm_loss:.4g}{warned}."
            )

    def _show_progress(self) -> None:
        snap = self.snapshot
        if snap is None or self._closed:
            return
        c = snap.config
        total = "" if c.steps is None or snap.final else f" (run of {c.steps})"
        rate = f" · {snap.steps_per_s:.0f} steps/s" if snap.steps_per_s > 0 else ""
        if snap.seq:
            device = _device_label(snap.device)
        else:
            device = "untrained" if snap.step == 0 else "loaded"
        self.panel.progress.setText(f"<b>Step {snap.step}</b>{total}{rate} · {device}")
        if math.isfinite(snap.cfm_loss):
            self.panel.losses.setText(
                f"L<sub>CFM</sub> {snap.cfm_loss:.4f} · L<sub>FM</sub> {snap.fm_loss:.4f} · "
                f"smoothed gap {self.chart.latest_gap():+.4f}"
            )
        else:
            self.panel.losses.setText("")

    # ------------------------------------------------------------ the learned view

    def _pump(self) -> None:
        """Give the Learned view the newest weights once it has drawn the previous ones and
        VIEW_INTERVAL has passed (at once when the run has come to rest)."""
        snap = self._view_pending
        if snap is None or self._closed or self.view.refreshing():
            return
        wait = self._applied_at + VIEW_INTERVAL - time.monotonic()
        if wait > 0 and not snap.final and self.mode == RUNNING:
            if not self._pump_timer.isActive():
                self._pump_timer.start(int(wait * 1000) + 1)
            return
        self._view_pending = None
        self._applied_at = time.monotonic()
        self._view_snapshot = snap
        from flowviz.core.inference import InferenceField

        self.view.set_field(InferenceField(snap.weights, snap.config.model))
        self._measure_quality(snap.final or self.mode != RUNNING)

    def _measure_quality(self, now: bool) -> None:
        """SWD of the shown weights' samples against the data, on the frame worker."""
        field, snap = self.view.field, self._view_snapshot
        if field is None or snap is None or len(self.state.data) == 0:
            return
        if self._quality_busy:
            self._quality_again = self._quality_again or now
            return
        if not now and time.monotonic() - self._quality_at < QUALITY_INTERVAL:
            return
        self._quality_busy = True
        self._quality_at = time.monotonic()
        data, source = self.state.data, self.state.source
        sigma = self.state.path.sigma_min if self.state.path is not None else 0.0
        f = self._floor
        known = f[2] if f and f[0] is data and f[1] == sigma else None

        def job():
            from flowviz.core import quality as q

            try:
                swd = q.readout(velocity=field.velocity, data=data, source=source, sigma_min=sigma)
                floor = known if known is not None else q.floor(data=data, sigma_min=sigma)
            except Exception as exc:  # a readout is a side line: it must never raise
                return exc
            return swd, floor

        def done(result) -> None:
            self._quality_busy = False
            if self._closed:
                return
            if self._quality_again:
                self._quality_again = False
                QTimer.singleShot(0, self, lambda: self._measure_quality(True))
            if isinstance(result, Exception):
                self.panel.quality.setText(f"Sample quality: not measured ({result})")
                return
            swd, floor = result
            self._floor = (data, sigma, floor)
            if data is self.state.data and snap.run == self._run:  # not of replaced weights
                self.quality = (swd, floor.mean)
                self.quality_step = snap.step
                self.panel.quality.setText(_quality_text(swd, floor, data))

        # Ahead of frames: while the animation plays the views always have a frame to ask
        # for, and a readout queued behind them waited for the whole run (issue 11).
        self.window.worker.submit(job, done, priority=-1, alive=lambda: not self._closed)

    # ------------------------------------------------------------ state changes

    def _on_core_ready(self) -> None:
        import torch

        from flowviz.core.training import resolve_device

        present = ["cpu"]
        if torch.cuda.is_available():
            present.append("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            present.append("mps")
        self.panel.set_devices(present, str(resolve_device("auto")))
        self._ready = True
        self._update_actions()
        if not self.window.settings.contains("windowState"):  # a first launch's layout:
            # the Training dock as tall as its panel (WholeHeight), the chart the rest
            area = Qt.Orientation.Vertical
            self.window.resizeDocks([self.dock, self.loss_dock], [1, 100_000], area)
        if self.process is not None:
            # Start the training process now (it imports torch while the user looks), from
            # a plain thread: a child of the niced frame worker would inherit its niceness
            # and crawl on a busy machine.
            self._starter = threading.Thread(
                target=self.process.ensure, name="flowviz-training-start", daemon=True
            )
            self._starter.start()

    def _on_data_changed(self) -> None:
        self._measure_quality(True)
        if self.mode != IDLE:
            self._restart_timer.start()

    def _on_path_changed(self) -> None:
        if self.mode != IDLE and self.state.session.training.path == FOLLOW:
            self._restart_timer.start()

    def _restart_for_new_data(self) -> None:
        if self.mode == IDLE or self._closed:
            return
        if len(self.state.data) == 0:
            self.stop()
            self.window.show_status("No data points left: training stopped.")
            return
        if self._start(fresh=True, paused=self.mode == PAUSED):
            self.window.show_status(
                "The data changed: training restarted from step 0 on the new points."
            )

    def _on_panel_changed(self) -> None:
        if self.mode != IDLE:
            self.window.show_status("New settings apply when the next run starts (Stop, Train).")

    # ------------------------------------------------------------ checkpoints

    def save_checkpoint_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self.window, "Save checkpoint", "flowviz.pt", CHECKPOINT_FILTER
        )
        if name:
            self.save_checkpoint(name)

    def load_checkpoint_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self.window, "Load checkpoint", "", CHECKPOINT_FILTER)
        if name:
            self.load_checkpoint(name)

    def save_checkpoint(self, filename: str) -> bool:
        """Write the newest weights with their config and the data they were trained on
        (the format of `flowviz train`)."""
        import numpy as np
        import torch

        from flowviz.core import checkpoint
        from flowviz.core.model import VelocityMLP

        snap = self.snapshot
        if snap is None:
            self.window.show_error("Nothing to save yet: train the network first (Ctrl+T).")
            return False
        model = VelocityMLP(snap.config.model)
        model.load_state_dict(dict(snap.weights))
        data = self._weights_data if self._weights_data is not None else self.state.data
        source = self._weights_source
        try:
            checkpoint.save(
                filename,
                model=model,
                config=snap.config,
                data=torch.from_numpy(np.array(data)),
                source=None if source is None else torch.from_numpy(np.array(source)),
                step=snap.step,
            )
        except (OSError, ValueError) as exc:
            self.window.show_error(f"Could not save {Path(filename).name}: {exc}")
            return False
        self.window.show_status(f"Saved checkpoint {filename} (step {snap.step}).")
        return True

    def load_checkpoint(self, filename: str) -> None:
        """Load data, source, path, settings (one undoable Session patch) and weights. The
        file is read and checked on the frame worker (a large or hostile one costs seconds:
        the window keeps answering meanwhile); the result is applied on the UI thread as
        it arrives. A file that is not a usable checkpoint shows why and changes nothing.
        loading() says whether a load is in flight."""
        name = Path(filename).name
        base = self.state.session
        self._loads += 1
        self.window.show_status(f"Loading {name}…")
        self.window.worker.submit(
            lambda: _read_checkpoint(filename, base),
            self._on_checkpoint_read,
            priority=-0.9,  # before frames: the user waits for it
            alive=lambda: not self._closed,
        )

    def loading(self) -> bool:
        """A checkpoint load is in flight (what a test waits on)."""
        return self._loads > 0

    def _on_checkpoint_read(self, result) -> None:
        self._loads -= 1
        if self._closed:
            return
        if isinstance(result, Exception):
            self.window.show_error(str(result))
            return
        name, ckpt, weights, patch = result
        state = self.state
        try:  # the Session may have changed since: check the patch again (cheap)
            state.session.patch(**patch)
        except ValueError as exc:
            self.window.show_error(_named(name, exc))
            return
        c = ckpt.config
        trained = {"weights": weights, "config": c, "step": ckpt.step, "losses": ()}
        edit = SessionEdit.of(state, patch, f"Load checkpoint {name}")
        self.window.undo.push(self.edit(edit, trained))
        self.window.show_status(
            f"Loaded {name}: {len(state.data)} points, step {ckpt.step}, "
            f"{c.model.width}×{c.model.depth} {c.model.activation}. Train continues from it."
        )

    # ------------------------------------------------------------ trained state (session files)

    def trained_state(self) -> dict | None:
        """What a session file keeps of training: None before any weights, else
        {"weights": {name: CPU tensor}, "config": TrainConfig, "step": int, "losses": [(step,
        cfm_loss, fm_loss), ...]} -- the newest snapshot's weights and the loss chart's
        history. The tensors are the snapshot's own (never written to): copy to modify."""
        snap = self.snapshot
        if snap is None:
            return None
        return {
            "weights": {k: v.detach().cpu() for k, v in snap.weights.items()},
            "config": snap.config,
            "step": int(snap.step),
            "losses": self.chart.history(),
        }

    def edit(self, session_edit: SessionEdit, trained: dict | None) -> QUndoCommand:
        """session_edit and the network trained (a trained_state(); None: not trained) as
        one undo step: what opening a session or loading a checkpoint pushes."""
        return TrainedEdit(self, session_edit, trained)

    def show_trained_state(self, trained: dict | None) -> None:
        """Show trained (a trained_state()), or with None no network at all (as before the
        first Train). A run in progress is stopped first: no model is replaced under it."""
        if trained is not None:
            self.restore_trained(
                trained["weights"], trained["config"], trained["step"], trained["losses"]
            )
            return
        self.stop()
        self._run += 1  # anything still queued from the old weights is ignored
        self._weights_data = self._weights_source = None
        self.snapshot = self._view_pending = self._view_snapshot = None
        self.warning = None
        self.quality, self.quality_step = None, -1
        self.panel.show_warning(None)
        self.panel.progress.setText("Not trained yet.")
        self.panel.losses.setText("")
        self.panel.quality.setText("")
        self.chart.clear()
        self.view.set_field(None)

    def restore_trained(self, weights, config, step: int, losses) -> None:
        """Show weights ({name: tensor}) trained with config for step steps in the Learned
        view and losses [(step, cfm_loss, fm_loss), ...] in the chart, as if trained here;
        Train continues from them. Data and path are the caller's: patch the Session first
        (the weights count as trained on the data current when this is called)."""
        import torch

        self.stop()
        cpu = {k: torch.as_tensor(v).detach().cpu().clone() for k, v in dict(weights).items()}
        self._show_trained(cpu, config, int(step), losses)

    def _show_trained(self, weights, config, step: int, losses) -> None:
        """A new (idle) run holding weights: the Learned view, readouts and chart show them."""
        from flowviz.core.training_loop import LossPoint

        self._run += 1
        self._weights_data, self._weights_source = self.state.data, self.state.source
        self.warning = None
        self.panel.show_warning(None)
        self.chart.clear()
        self.chart.set_coupling(config.coupling)
        points = [LossPoint(int(s), float(cfm), float(fm)) for s, cfm, fm in losses]
        self.chart.add(points)
        last = points[-1] if points else LossPoint(step, math.nan, math.nan)
        snap = Snapshot(
            step, last.cfm_loss, last.fm_loss, last.step, frozen_weights(weights), config, "",
            run=self._run,
        )  # fmt: skip
        self._on_snapshot(snap)


class TrainedEdit(QUndoCommand):
    """A Session patch and the network shown with it, as one undo step: undo gives back
    the patch's old fields and the network shown before (or "not trained"), redo the new
    ones. Each swap keeps the network it replaces, so training done after an open survives
    undo then redo. A run in progress is stopped before its weights are swapped."""

    def __init__(self, training: TrainingController, session_edit: SessionEdit, trained):
        super().__init__(session_edit.text())
        self.training, self.session_edit = training, session_edit
        self.other: dict | None = trained  # the network the next swap shows

    def redo(self) -> None:
        self._swap(self.session_edit.redo)

    def undo(self) -> None:
        self._swap(self.session_edit.undo)

    def _swap(self, apply_session) -> None:
        t = self.training
        t.stop()  # the new data must not restart the old run
        shown = t.trained_state()
        apply_session()
        t.show_trained_state(self.other)  # trained on the data just applied
        self.other = shown


def _named(name: str, exc: BaseException) -> str:
    """One line that starts with the file's name."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}"


def _read_checkpoint(filename: str, base):
    """Frame worker: read and check a checkpoint and build its Session patch (validated
    against base, the Session when the load began). -> (name, Checkpoint, weights, patch),
    or a ValueError whose one line names the file; never raises."""
    from flowviz.core import checkpoint
    from flowviz.core.frames import typical_point
    from flowviz.session import frozen_points, settings_of

    name = Path(filename).name
    try:
        ckpt = checkpoint.load(filename)
        weights = {k: v.detach().cpu().clone() for k, v in ckpt.model.state_dict().items()}
        patch = settings_of(ckpt.config, device=base.training.device)
        data = frozen_points(ckpt.data.numpy())
        source = None if ckpt.source is None else frozen_points(ckpt.source.numpy())
        patch.update(data=data, source=source, origin=name, selected=typical_point(data))
        base.patch(**patch)  # every value is one the Session takes, or nothing is applied
    except MemoryError:
        return ValueError(f"{name}: too large to load into memory")
    except Exception as exc:  # ValueError from load (names the file), anything else: a line
        return ValueError(_named(name, exc))
    return name, ckpt, frozen_weights(weights), patch


def _window_action(window, text, shortcut, slot, tip, icon=None) -> QAction:
    """An action of the window (its shortcut works anywhere in it); the caller places it
    in a menu."""
    a = QAction(text, window) if icon is None else QAction(icon, text, window)
    a.setShortcut(QKeySequence(shortcut))
    a.setToolTip(f"{tip} ({shortcut})")
    a.setStatusTip(tip)
    a.triggered.connect(lambda _=False: slot())
    window.addAction(a)
    return a


def _quality_text(swd: float, floor, data) -> str:
    """The readout line: the SWD as a multiple of the floor (core.quality.Floor: what a
    perfect sampler of this path scores) with the band a perfect sampler reads within;
    with a floor of 0 (one point, or copies of one, sigma_min 0: a perfect sampler scores
    0) there is no ratio, so the SWD stands alone."""
    import numpy as np

    from flowviz.core import quality

    scale = float(np.abs(data).max()) if len(data) else 1.0
    ratio = quality.ratio(swd=swd, floor=floor.mean, scale=scale)
    if ratio is None:
        why = "floor 0: the data points coincide" if math.isfinite(floor.mean) else "no floor"
        return f"Sample quality: SWD <b>{swd:.3f}</b> ({why})"
    return (
        f"Sample quality: <b>{ratio:.2f}× ± {floor.band():.2f}</b> the floor "
        f"(SWD {swd:.3f}, floor {floor.mean:.3f})"
    )


def _device_label(device: str) -> str:
    return {"cpu": "CPU", "mps": "Apple MPS"}.get(device, device.upper())
