"""TrainingWorker: one training run, driven from its own QThread.

The worker is the UI's only contact with a run. The UI calls pause(), resume(),
step_once(), stop() (which joins the thread); the worker emits, through queued signals,
at most ~10 immutable Snapshots a second (step, losses, a cloned CPU copy of the weights)
and a failure message. The run itself is training_loop.run_training, which owns the
core Trainer (model and optimizer); nothing on the UI thread ever touches it.

Two backends, one behaviour:
- "process" (the default on POSIX): the loop runs in a TrainingProcess, a child Python
  that imports torch once and serves run after run; the QThread sends it the job and the
  commands and turns its events into signals. A separate interpreter has its own GIL: a
  training step is ~150 tiny torch calls, each of which must take the GIL back, so in the
  UI's process it ran at ~0.2-0.4x its speed while the window animated (measured; see
  benchmarks/bench_training.py), and in a child it keeps ~0.9x.
- "thread": the loop runs in the QThread itself (no child process; slower while the UI
  is busy, but nothing to spawn).

Torch is imported on the worker side only, so importing this module keeps the window
start fast.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from PySide6.QtCore import QThread, Signal

from flowviz.core.training_loop import LossPoint, TrainJob, run_training
from flowviz.gui import threads

if TYPE_CHECKING:
    import torch

    from flowviz.core.training import TrainConfig

__all__ = ["LossPoint", "Snapshot", "TrainJob", "TrainingProcess", "TrainingWorker"]

STOP_TIMEOUT = 0.4  # s a stopping worker waits for the process to confirm
CLOSE_TIMEOUT = 0.2  # s the process gets to quit before it is terminated


@dataclass(frozen=True)
class Snapshot:
    """What the UI may know of a run at one moment; nothing in it is shared with the run.

    step: optimizer steps taken in total (the run's own steps plus the step it started
    from); cfm_loss / fm_loss: those of the latest reported step `loss_step` (NaN before
    the first report); weights: a read-only mapping of CPU tensors (finite: the loop
    checks); config: the run's TrainConfig; device: where it trains ("cpu", "cuda", ...;
    "" for weights that were not trained here); reports: every reported step since the
    previous snapshot, for the loss chart; steps_per_s: the recent rate; run: which run
    (an old run's late snapshot is ignored); seq: its number within the run; final: the
    run has ended (finished, stopped or diverged); warning: the run's loss-growth warning
    (core.training.LossWatch), on the one snapshot after it was raised, else None.
    """

    step: int
    cfm_loss: float
    fm_loss: float
    loss_step: int
    weights: Mapping[str, torch.Tensor]
    config: TrainConfig
    device: str
    reports: tuple[LossPoint, ...] = ()
    steps_per_s: float = 0.0
    run: int = 0
    seq: int = 0
    final: bool = False
    warning: str | None = None

    @property
    def gap(self) -> float:
        """L_FM - L_CFM of the latest report (the seed's constant C, in expectation)."""
        return self.fm_loss - self.cfm_loss


def frozen_weights(weights: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
    return MappingProxyType(dict(weights))


def initial_snapshot(config: TrainConfig, *, run: int = 0) -> Snapshot:
    """The untrained network of config (seeded), at step 0: what Reset weights shows."""
    from flowviz.core.model import build

    model = build(config.model, seed=config.seed)
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    nan = math.nan
    return Snapshot(0, nan, nan, 0, frozen_weights(weights), config, "", run=run, final=True)


def _snapshot(payload: dict, run: int) -> Snapshot:
    import torch

    weights = {k: torch.from_numpy(v) for k, v in payload.pop("weights").items()}
    return Snapshot(weights=frozen_weights(weights), run=run, **payload)


class TrainingProcess:
    """A child Python (python -m flowviz.core.training_loop) that runs training jobs,
    started on first use and reused by later runs; close() ends it. Commands go down one
    pipe, events come up another (multiprocessing Connections on inherited descriptors:
    unlike multiprocessing's spawn, nothing re-imports the parent's __main__)."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._commands = None
        self._events = None
        self._lock = threading.Lock()
        self._start = threading.Lock()  # ensure() and close() one at a time
        self._closed = False

    @staticmethod
    def available() -> bool:
        return os.name == "posix"  # pass_fds; elsewhere the thread backend is used

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure(self) -> None:
        """Start the child unless it runs or this was closed (off the UI thread: the
        child's start-up competes for the cores). The window calls it once the math core
        has loaded, so the child has imported torch before the first Train."""
        with self._start:
            if not self._closed and not self.alive():
                self._spawn()

    def _spawn(self) -> None:
        self._discard()
        cmd_r, cmd_w = os.pipe()
        evt_r, evt_w = os.pipe()
        root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "flowviz.core.training_loop", str(cmd_r), str(evt_w)],
                pass_fds=(cmd_r, evt_w),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            os.close(cmd_r)
            os.close(evt_w)
        with self._lock:
            self._proc = proc
            self._commands = Connection(cmd_w, readable=False)
            self._events = Connection(evt_r, writable=False)

    def send(self, msg: tuple) -> bool:
        with self._lock:
            if self._commands is None:
                return False
            try:
                self._commands.send(msg)
            except (OSError, ValueError):
                return False
            return True

    def receive(self, timeout: float):
        """The next event (run, kind, payload), or None after timeout or at the end (a
        message that cannot be read raises RuntimeError)."""
        events = self._events
        try:
            if events is not None and events.poll(timeout):
                return events.recv()
        except (EOFError, OSError):
            time.sleep(timeout)
        except Exception as exc:  # unpicklable: a version mismatch, a bug
            raise RuntimeError(f"unreadable message from the training process: {exc}") from exc
        return None

    def close(self) -> None:
        """Ask the child to quit; terminate it if it does not within CLOSE_TIMEOUT. A later
        ensure() starts nothing."""
        with self._start:
            self._closed = True
        proc = self._proc
        if proc is not None:
            self.send(("quit",))
            for end in (lambda: None, proc.terminate):
                end()
                try:
                    proc.wait(CLOSE_TIMEOUT)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:  # a loaded machine can take longer than the timeouts: kill, and reap it
                proc.kill()
                proc.wait()
        self._discard()

    def _discard(self) -> None:
        with self._lock:
            for conn in (self._commands, self._events):
                if conn is not None:
                    conn.close()
            self._proc = self._commands = self._events = None


class TrainingWorker(QThread):
    """Runs one TrainJob: in `process` (a TrainingProcess) when given, else in this thread.
    UI-thread API: pause(), resume(), step_once(), stop(); the run parks between steps
    while paused, so a paused run holds its step count.

    Signals (queued to the UI thread; ints are the run id): snapshot(Snapshot);
    failed(run, message) when the run cannot go on (divergence: the message says so and
    the last snapshot holds the last finite weights; a bad config or device; a dead
    process); ended(run) as the thread finishes, whatever the reason; parked(step) each
    time the run comes to rest paused.
    """

    snapshot = Signal(object)
    failed = Signal(int, str)
    ended = Signal(int)
    parked = Signal(int)

    def __init__(
        self,
        job: TrainJob,
        *,
        run: int,
        paused: bool = False,
        process: TrainingProcess | None = None,
        parent=None,
    ):
        super().__init__(parent)
        self.job = job
        self.run_id = run
        self.process = process
        self.last_snapshot: Snapshot | None = None  # read it after the thread has ended
        self._cv = threading.Condition()
        self._paused = paused
        self._pending_steps = 0
        self._stopping = False
        self._is_parked = False
        self._sent = False  # the process has the job: commands go to it
        self._commands_sent = 0
        threads.register(self)

    # ------------------------------------------------------------ UI thread

    def pause(self) -> None:
        self._command("pause", lambda: setattr(self, "_paused", True))

    def resume(self) -> None:
        self._command("resume", lambda: setattr(self, "_paused", False))

    def step_once(self) -> None:
        """One optimizer step (while paused); a running run ignores it."""
        with self._cv:
            if not self._paused:
                return
        self._command("step", lambda: setattr(self, "_pending_steps", self._pending_steps + 1))

    def is_paused(self) -> bool:
        return self._paused

    def is_parked(self) -> bool:
        """Paused and resting between steps (what a test waits for)."""
        with self._cv:
            return self._is_parked

    def stop(self) -> None:
        """Ask the run to end after the current step and join the thread."""
        self._command("stop", lambda: setattr(self, "_stopping", True))
        self.wait()

    def _command(self, kind: str, update) -> None:
        with self._cv:
            update()
            self._is_parked = self._is_parked and kind == "pause"
            if self._sent and self.process is not None:
                self.process.send((kind,))
                self._commands_sent += 1
            self._cv.notify_all()

    # ------------------------------------------------------------ worker thread

    def run(self) -> None:
        try:
            if self.process is None:
                run_training(self.job, _ThreadChannel(self))
            else:
                self._drive_process()
        finally:
            self.ended.emit(self.run_id)

    def _drive_process(self) -> None:
        proc = self.process
        try:
            proc.ensure()
        except (OSError, subprocess.SubprocessError) as exc:
            self.failed.emit(self.run_id, f"Could not start the training process: {exc}")
            return
        with self._cv:
            if self._stopping:
                return
            job = ("run", self.run_id, self.job, self._paused, self._pending_steps)
            self._sent = proc.send(job)
        if not self._sent:
            self.failed.emit(self.run_id, "Could not reach the training process.")
            return
        deadline = None
        while True:
            try:
                event = proc.receive(0.05)
            except RuntimeError as exc:
                self.failed.emit(self.run_id, str(exc))
                return
            if event is None:
                if self._stopping:
                    deadline = deadline or time.monotonic() + STOP_TIMEOUT
                    if time.monotonic() > deadline:
                        return  # it will end its run after its step; the close kills it
                if not proc.alive():
                    self.failed.emit(self.run_id, "The training process ended unexpectedly.")
                    return
                continue
            run, kind, payload = event
            if run != self.run_id:
                continue  # a stopped run that ended late
            if kind == "ended":
                return
            self.on_event(kind, payload)

    def on_event(self, kind: str, payload) -> None:
        """An event of the run (worker thread): turn it into a signal."""
        if kind == "snapshot":
            snap = _snapshot(dict(payload), self.run_id)
            self.last_snapshot = snap
            self.snapshot.emit(snap)
        elif kind == "parked":
            step, received = payload
            with self._cv:
                if received is None:  # in this thread: the flags are the run's
                    self._is_parked = self._paused and not self._pending_steps
                else:  # parked after every command sent so far, or a later one wakes it
                    self._is_parked = received == self._commands_sent
            self.parked.emit(step)
        elif kind == "failed":
            self.failed.emit(self.run_id, payload)


class _ThreadChannel:
    """The in-thread backend's channel: the worker's flags, read between steps."""

    def __init__(self, worker: TrainingWorker):
        self.w = worker

    @property
    def paused(self) -> bool:
        return self.w._paused

    @property
    def stopping(self) -> bool:
        return self.w._stopping

    @property
    def pending_steps(self) -> int:
        return self.w._pending_steps

    received = None

    def poll(self) -> None:
        pass

    def wait(self) -> None:
        w = self.w
        with w._cv:
            if w._paused and not w._stopping and not w._pending_steps:
                w._cv.wait()

    def take_step(self) -> None:
        with self.w._cv:
            self.w._pending_steps -= 1

    def send(self, kind: str, payload) -> None:
        if kind != "ended":
            self.w.on_event(kind, payload)
