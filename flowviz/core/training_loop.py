"""The training loop of one run, free of Qt: it runs in the TrainingWorker's thread or in
the training process that the worker drives, and talks through a channel.

The loop owns the core Trainer (model and optimizer). Between two optimizer steps it asks
its channel for commands (pause, resume, one step, stop), and it sends, at most every
SNAPSHOT_INTERVAL, a snapshot: the step, the latest losses, every reported loss since the
previous snapshot, the loss-growth warning when one was raised since (once per run, so the
window can say it), and a copy of the weights that later steps cannot change (numpy, so it
pickles across a process boundary). Snapshots carry only finite weights: a divergence
sends the last finite ones, then the failure.

Events sent: ("snapshot", dict), ("parked", (step, commands received)), ("failed",
message), ("ended", None).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: Seconds between snapshots while running (the issue's "at most ~10 times a second").
SNAPSHOT_INTERVAL = 0.1
#: Intra-op torch threads of a training run. On 2 cores shared with the UI thread and the
#: frame worker, 1 measured 1.3-7x faster than 2 (OpenMP spin-waits when oversubscribed).
TORCH_THREADS = 1


@dataclass(frozen=True)
class LossPoint:
    """One reported step: the CFM loss and, on the same batch, the exact FM loss."""

    step: int
    cfm_loss: float
    fm_loss: float


@dataclass(frozen=True)
class TrainJob:
    """Everything a run needs, picklable: data (N, 2) and source (M, 2) or None as float32
    arrays, the config, weights to start from as numpy arrays (None: fresh, seeded by
    config.seed) and the step count they were trained for."""

    data: np.ndarray
    source: np.ndarray | None
    config: Any  # TrainConfig (imported lazily: torch)
    weights: dict[str, np.ndarray] | None = None
    start_step: int = 0


class Channel(Protocol):
    """How a run hears commands and speaks. paused / stopping / pending_steps are read
    between steps after poll(); wait() blocks until a command arrives."""

    paused: bool
    stopping: bool
    pending_steps: int
    received: int | None  # commands taken in so far (None: the channel cannot tell)

    def poll(self) -> None: ...

    def wait(self) -> None: ...

    def take_step(self) -> None: ...

    def send(self, kind: str, payload: Any) -> None: ...


def run_training(job: TrainJob, channel: Channel) -> None:
    """Train job until its steps are done or the channel says stop; always ends with
    ("ended", None)."""
    try:
        _Run(job, channel).run()
    except Exception as exc:  # e.g. CUDA out of memory: tell the user, keep the app
        channel.send("failed", f"Training failed: {type(exc).__name__}: {exc}")
    finally:
        channel.send("ended", None)


class _Run:
    def __init__(self, job: TrainJob, channel: Channel):
        self.job, self.channel = job, channel
        self.reports: list[LossPoint] = []
        self.last = LossPoint(job.start_step, math.nan, math.nan)
        self.seq = 0
        self.warning: str | None = None  # raised since the last snapshot (LossWatch)

    def run(self) -> None:
        import torch

        from flowviz.core.training import DivergenceError

        torch.set_num_threads(TORCH_THREADS)
        try:
            trainer = self._make_trainer(torch)
        except (ValueError, RuntimeError) as exc:
            self.channel.send("failed", f"Training could not start: {exc}")
            return
        self.trainer = trainer
        self.device = str(trainer.device)
        self.rate_mark = (time.perf_counter(), trainer.step_count)
        self.rate = 0.0
        self.good = (self.job.start_step, trainer.weights())
        try:
            self._loop()
        except DivergenceError as exc:
            # The trainer has put back the weights of its last finite report; if they went
            # bad between reports, the last snapshot's weights are the last good ones.
            weights, step = trainer.weights(), self.last.step
            if not _finite(weights):
                step, weights = self.good
            self._snapshot(final=True, step=step, weights=weights)
            self.channel.send("failed", f"Training stopped: {exc}")

    def _make_trainer(self, torch):
        from flowviz.core.model import VelocityMLP
        from flowviz.core.training import Trainer

        job = self.job
        model = None
        if job.weights is not None:
            model = VelocityMLP(job.config.model)
            state = {k: torch.from_numpy(np.array(v)) for k, v in job.weights.items()}
            model.load_state_dict(state)
        source = None if job.source is None else torch.from_numpy(np.array(job.source))
        return Trainer(
            data=torch.from_numpy(np.array(job.data)),
            config=job.config,
            source=source,
            model=model,
        )

    def total(self) -> int:
        return self.job.start_step + self.trainer.step_count

    def _loop(self) -> None:
        trainer, ch = self.trainer, self.channel
        c = trainer.config
        sent_at = trainer.step_count
        next_send = time.perf_counter() + SNAPSHOT_INTERVAL
        while c.steps is None or trainer.step_count < c.steps:
            ch.poll()
            single = False
            if ch.stopping:
                break
            if ch.paused:
                if not ch.pending_steps:
                    if trainer.step_count != sent_at:
                        self._snapshot()  # show the step where it rests
                        sent_at = trainer.step_count
                    ch.send("parked", (self.total(), ch.received))
                    while ch.paused and not ch.stopping and not ch.pending_steps:
                        ch.wait()
                    self.rate_mark = (time.perf_counter(), trainer.step_count)
                    if ch.stopping:
                        break
                if ch.paused:
                    ch.take_step()
                    single = True
            report = trainer.step(report=single or trainer.report_due())
            if report is not None:
                self.last = LossPoint(self.total(), report.cfm_loss, report.fm_loss)
                self.reports.append(self.last)
                self.warning = report.warning or self.warning
                now = time.perf_counter()
                if single or now >= next_send:
                    self._snapshot()
                    sent_at = trainer.step_count
                    next_send = now + SNAPSHOT_INTERVAL
        self._snapshot(final=True)

    def _snapshot(self, *, final=False, step: int | None = None, weights=None) -> None:
        from flowviz.core.training import DivergenceError

        trainer = self.trainer
        step = self.total() if step is None else step
        if weights is None:
            weights = trainer.weights()
            if not _finite(weights):
                raise DivergenceError(f"the weights became NaN or infinite by step {step}")
        now = time.perf_counter()
        t0, s0 = self.rate_mark
        if now - t0 > 0.05:
            self.rate = (trainer.step_count - s0) / (now - t0)
            self.rate_mark = (now, trainer.step_count)
        self.good = (step, weights)
        self.seq += 1
        last = self.last
        self.channel.send(
            "snapshot",
            {
                "step": step,
                "cfm_loss": last.cfm_loss,
                "fm_loss": last.fm_loss,
                "loss_step": last.step,
                "weights": {k: v.numpy() for k, v in weights.items()},
                "config": trainer.config,
                "device": self.device,
                "reports": tuple(self.reports),
                "steps_per_s": self.rate,
                "seq": self.seq,
                "final": final,
                "warning": self.warning,
            },
        )
        self.reports = []
        self.warning = None


def _finite(weights) -> bool:
    import torch

    return all(bool(torch.isfinite(w).all()) for w in weights.values())


# ---------------------------------------------------------------- the training process


class PipeChannel:
    """The child's side of the pipes: commands in, (run, kind, payload) events out."""

    def __init__(self, commands, events):
        self.commands, self.events = commands, events
        self.run = 0
        self.quit = False
        self.reset(paused=False)

    def reset(self, *, paused: bool) -> None:
        self.paused, self.stopping, self.pending_steps = paused, False, 0
        self.received = 0

    def _apply(self, msg) -> None:
        kind = msg[0]
        self.received += 1
        if kind == "pause":
            self.paused = True
        elif kind == "resume":
            self.paused = False
        elif kind == "step":
            self.pending_steps += 1
        elif kind == "stop":
            self.stopping = True
        elif kind == "quit":
            self.stopping = self.quit = True

    def poll(self) -> None:
        while self.commands.poll():
            self._apply(self.commands.recv())

    def wait(self) -> None:
        self._apply(self.commands.recv())
        self.poll()

    def take_step(self) -> None:
        self.pending_steps -= 1

    def send(self, kind: str, payload) -> None:
        self.events.send((self.run, kind, payload))


def serve(commands, events) -> None:
    """Entry point of the training process: run jobs until told to quit (or the parent's
    end of the pipe closes)."""
    channel = PipeChannel(commands, events)
    try:
        while not channel.quit:
            msg = commands.recv()
            if msg[0] == "quit":
                return
            if msg[0] == "run":
                _, run, job, paused, steps = msg
                channel.run = run
                channel.reset(paused=paused)
                channel.pending_steps = steps
                run_training(job, channel)
    except (EOFError, OSError, KeyboardInterrupt):
        return


def main(argv: list[str]) -> None:
    """python -m flowviz.core.training_loop CMD_FD EVENT_FD (started by TrainingProcess)."""
    from multiprocessing.connection import Connection

    commands = Connection(int(argv[0]), writable=False)
    events = Connection(int(argv[1]), readable=False)
    import torch  # noqa: F401 (imported now, while the user looks: the first Train is quick)

    from flowviz.core import training  # noqa: F401

    serve(commands, events)


if __name__ == "__main__":
    import sys

    # Run the module under its package name, so what it pickles (LossPoint) unpickles in
    # the parent as flowviz.gui.training_loop.LossPoint, not __main__.LossPoint.
    from flowviz.core.training_loop import main as _main

    _main(sys.argv[1:])
