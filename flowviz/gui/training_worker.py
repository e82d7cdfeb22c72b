"""TrainingWorker: one training run in its own QThread, owning the core Trainer.

The worker is the only thread that touches the training model and its optimizer. The UI
talks to it through cooperative flags (pause, resume, one step, stop) checked between
optimizer steps, and hears from it through queued signals: at most ~10 immutable
Snapshots a second (step, losses, a cloned CPU copy of the weights) and a failure
message. stop() joins the thread; a run is one start() of one worker object.

Torch is imported on the worker thread (and only type-checked here), so importing this
module keeps the window start fast.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QThread, Signal

from flowviz.gui import threads

if TYPE_CHECKING:
    import torch

    from flowviz.core.training import TrainConfig

#: Seconds between snapshots while running (the issue's "at most ~10 times a second").
SNAPSHOT_INTERVAL = 0.1
#: Intra-op torch threads of the training thread. On 2 cores shared with the UI thread and
#: the frame worker, 1 measured 1.3-7x faster than 2 (OpenMP spin-waits when oversubscribed).
TORCH_THREADS = 1


@dataclass(frozen=True)
class LossPoint:
    """One reported step: the CFM loss and, on the same batch, the exact FM loss."""

    step: int
    cfm_loss: float
    fm_loss: float


@dataclass(frozen=True)
class Snapshot:
    """What the UI may know of a run at one moment; nothing in it is shared with the run.

    step: optimizer steps taken in total (the run's own steps plus the step it started
    from); cfm_loss / fm_loss: those of the latest reported step `loss_step` (NaN before
    the first report); weights: a read-only mapping of cloned CPU tensors (finite: the
    worker checks); config: the run's TrainConfig; device: where it trains ("cpu",
    "cuda", ...); reports: every reported step since the previous snapshot, for the loss
    chart; steps_per_s: the recent rate; run: which run (an old run's late snapshot is
    ignored); seq: its number within the run; final: the run has ended (finished,
    stopped or diverged).
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

    @property
    def gap(self) -> float:
        """L_FM - L_CFM of the latest report (the seed's constant C, in expectation)."""
        return self.fm_loss - self.cfm_loss


@dataclass(frozen=True)
class TrainJob:
    """Everything a run needs, frozen: data (N, 2) and source (M, 2) or None as read-only
    float32 arrays, the config, weights to start from (None: fresh, seeded by config.seed)
    and the step count they were trained for."""

    data: np.ndarray
    source: np.ndarray | None
    config: TrainConfig
    weights: Mapping[str, torch.Tensor] | None = None
    start_step: int = 0


def frozen_weights(weights: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
    return MappingProxyType(dict(weights))


def initial_snapshot(config: TrainConfig, *, run: int = 0) -> Snapshot:
    """The untrained network of config (seeded), at step 0: what Reset weights shows."""
    from flowviz.core.model import build

    model = build(config.model, seed=config.seed)
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    nan = math.nan
    return Snapshot(0, nan, nan, 0, frozen_weights(weights), config, "cpu", run=run, final=True)


class TrainingWorker(QThread):
    """Runs one TrainJob. UI-thread API: pause(), resume(), step_once(), stop(); the
    worker parks between steps while paused, so a paused run holds its step count.

    Signals (queued to the UI thread; ints are the run id): snapshot(Snapshot);
    failed(run, message) when the run cannot go on (divergence: the message says so and
    the last snapshot holds the last finite weights; a bad config or device); ended(run)
    as run() returns, whatever the reason; parked(step) each time it comes to rest paused.
    """

    snapshot = Signal(object)
    failed = Signal(int, str)
    ended = Signal(int)
    parked = Signal(int)

    def __init__(self, job: TrainJob, *, run: int, paused: bool = False, parent=None):
        super().__init__(parent)
        self.job = job
        self.run_id = run
        self._cv = threading.Condition()
        self._paused = paused
        self._pending_steps = 0
        self._stopping = False
        self._is_parked = False
        self.device = ""
        self.last_snapshot: Snapshot | None = None  # read it after the thread has ended
        self._seq = 0
        threads.register(self)

    # ------------------------------------------------------------ UI thread

    def pause(self) -> None:
        with self._cv:
            self._paused = True

    def resume(self) -> None:
        with self._cv:
            self._paused = False
            self._cv.notify_all()

    def step_once(self) -> None:
        """One optimizer step (while paused); a running run ignores it."""
        with self._cv:
            if self._paused:
                self._pending_steps += 1
                self._cv.notify_all()

    def is_paused(self) -> bool:
        return self._paused

    def is_parked(self) -> bool:
        """Paused and resting between steps (what a test waits for)."""
        with self._cv:
            return self._is_parked

    def stop(self) -> None:
        """Ask the run to end after the current step and join the thread."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        self.wait()

    # ------------------------------------------------------------ worker thread

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.ended.emit(self.run_id)

    def _run(self) -> None:
        import torch

        from flowviz.core.training import DivergenceError

        torch.set_num_threads(TORCH_THREADS)
        try:
            trainer = self._make_trainer(torch)
        except (ValueError, RuntimeError) as exc:
            self.failed.emit(self.run_id, f"Training could not start: {exc}")
            return
        self.device = str(trainer.device)
        self._rate_mark = (time.perf_counter(), trainer.step_count)
        self._rate = 0.0
        self._good = (self.job.start_step, trainer.weights())
        self._reports: list[LossPoint] = []
        self._last = LossPoint(self.job.start_step, math.nan, math.nan)
        self._loss_step = self.job.start_step
        try:
            self._loop(trainer)
        except DivergenceError as exc:
            # The trainer has put back the weights of its last finite report; if they went
            # bad between reports, the last snapshot's weights are the last good ones.
            weights = trainer.weights()
            step = self._loss_step
            if not _finite(weights):
                step, weights = self._good
            self._emit(trainer, final=True, step=step, weights=weights)
            self.failed.emit(self.run_id, f"Training stopped: {exc}")
        except Exception as exc:  # e.g. CUDA out of memory: tell the user, keep the app
            self.failed.emit(self.run_id, f"Training failed: {type(exc).__name__}: {exc}")

    def _make_trainer(self, torch):
        from flowviz.core.model import VelocityMLP
        from flowviz.core.training import Trainer

        job = self.job
        model = None
        if job.weights is not None:
            model = VelocityMLP(job.config.model)
            model.load_state_dict(dict(job.weights))
        source = None if job.source is None else torch.from_numpy(np.array(job.source))
        return Trainer(
            data=torch.from_numpy(np.array(job.data)),
            config=job.config,
            source=source,
            model=model,
        )

    def _loop(self, trainer) -> None:
        c = trainer.config
        emitted_at = trainer.step_count
        next_emit = time.perf_counter() + SNAPSHOT_INTERVAL
        while c.steps is None or trainer.step_count < c.steps:
            single = False
            if self._paused or self._stopping:
                with self._cv:
                    if self._paused and not self._stopping and self._pending_steps == 0:
                        if trainer.step_count != emitted_at:
                            self._emit(trainer)  # show the step where it rests
                            emitted_at = trainer.step_count
                        self._is_parked = True
                        self.parked.emit(self._total(trainer))
                        while self._paused and not self._stopping and not self._pending_steps:
                            self._cv.wait()
                        self._is_parked = False
                        self._rate_mark = (time.perf_counter(), trainer.step_count)
                    if self._stopping:
                        break
                    if self._paused:
                        self._pending_steps -= 1
                        single = True
            nxt = trainer.step_count + 1
            due = single or nxt % c.report_every == 0 or nxt == c.steps
            report = trainer.step(report=due)
            if report is not None:
                self._loss_step = self._total(trainer)
                self._last = LossPoint(self._loss_step, report.cfm_loss, report.fm_loss)
                self._reports.append(self._last)
                now = time.perf_counter()
                if single or now >= next_emit:
                    self._emit(trainer)
                    emitted_at = trainer.step_count
                    next_emit = now + SNAPSHOT_INTERVAL
        self._emit(trainer, final=True)

    def _total(self, trainer) -> int:
        return self.job.start_step + trainer.step_count

    def _emit(self, trainer, *, final=False, step: int | None = None, weights=None) -> None:
        from flowviz.core.training import DivergenceError

        step = self._total(trainer) if step is None else step
        if weights is None:
            weights = trainer.weights()
            if not _finite(weights):
                raise DivergenceError(f"the weights became NaN or infinite by step {step}")
        now = time.perf_counter()
        t0, s0 = self._rate_mark
        if now - t0 > 0.05:
            self._rate = (trainer.step_count - s0) / (now - t0)
            self._rate_mark = (now, trainer.step_count)
        self._good = (step, weights)
        last = self._last
        self._seq += 1
        self.last_snapshot = snap = Snapshot(
            step=step,
            cfm_loss=last.cfm_loss,
            fm_loss=last.fm_loss,
            loss_step=last.step,
            weights=frozen_weights(weights),
            config=trainer.config,
            device=self.device,
            reports=tuple(self._reports),
            steps_per_s=self._rate,
            run=self.run_id,
            seq=self._seq,
            final=final,
        )
        self._reports = []
        self.snapshot.emit(snap)


def _finite(weights: Mapping[str, torch.Tensor]) -> bool:
    import torch

    return all(bool(torch.isfinite(w).all()) for w in weights.values())
