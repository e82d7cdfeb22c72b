"""FrameWorker: one background thread that computes frames so the UI never waits.

Jobs are plain callables on immutable inputs, taken lowest priority first; a job whose
alive() turns false before it starts (the data or the field changed) is skipped, and its
result is delivered on the UI thread through a queued signal. A job may name its owner (a
view): cancel(owner) removes the owner's queued jobs at once, so a burst of changes never
leaves a backlog of stale work to pop and skip, and pending(owner) counts what is left.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QThread, Signal

from flowviz.gui import threads


@dataclass(order=True)
class _Job:
    priority: float
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    on_done: Callable[[Any], None] = field(compare=False)
    alive: Callable[[], bool] = field(compare=False)
    owner: object = field(default=None, compare=False)
    on_failed: Callable[[str], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _Failed:
    message: str


#: Niceness added to the frame worker's thread (Linux, where threads have their own). Frames
#: are computed ahead and cached, so they can wait; the UI thread and a training process
#: cannot. Measured on 2 cores, training + animating: training 0.85x -> 0.90-0.92x of the
#: bare loop; the UI's longest stall stays within its noise (41-61 ms); bench_training.py.
NICE = 10


def _lower_priority() -> int:
    """Renice the calling thread; returns its OS thread id."""
    tid = threading.get_native_id()
    if sys.platform.startswith("linux"):
        # A sandbox may forbid it: then the thread runs at normal priority.
        with contextlib.suppress(OSError):
            base = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, base + NICE))
    return tid


class FrameWorker(QThread):
    """Runs submitted jobs in priority order; stop() drains and joins it."""

    delivered = Signal(object, object)
    failed = Signal(str)
    idle = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cv = threading.Condition()
        self._jobs: list[_Job] = []
        self._seq = itertools.count()
        self._stopping = False
        self._running: _Job | None = None
        self.native_id: int | None = None  # the OS thread id, once running
        self.delivered.connect(self._deliver)
        threads.register(self)

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        *,
        priority: float = 0.0,
        alive: Callable[[], bool] = lambda: True,
        owner: object = None,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """Queue fn(); on_done(result) later runs on the UI thread if alive() still holds.
        owner: who may cancel it; on_failed(message) runs on the UI thread instead of
        on_done if fn raised (and alive() holds), so the owner can stop waiting for it."""
        job = _Job(priority, next(self._seq), fn, on_done, alive, owner, on_failed)
        with self._cv:
            heapq.heappush(self._jobs, job)
            self._cv.notify()

    def cancel(self, owner: object) -> int:
        """Remove owner's queued jobs now; returns how many. A running one finishes, and
        its result is delivered only if its alive() still holds."""
        with self._cv:
            keep = [j for j in self._jobs if j.owner is not owner]
            removed = len(self._jobs) - len(keep)
            if removed:
                heapq.heapify(keep)
                self._jobs = keep
            return removed

    def pending(self, owner: object = None) -> int:
        """Jobs queued or running, all or owner's (for tests and the status bar)."""
        with self._cv:
            jobs = [*self._jobs, *([self._running] if self._running is not None else [])]
            if owner is None:
                return len(jobs)
            return sum(j.owner is owner for j in jobs)

    def run(self):
        import torch

        # Two cores are shared with the UI thread and training: one intra-op thread avoids
        # the spin-wait collapse seen when torch's pool is oversubscribed (40x slower).
        torch.set_num_threads(1)
        torch.set_flush_denormal(True)
        self.native_id = _lower_priority()
        while True:
            with self._cv:
                self._running = None
                while not self._jobs and not self._stopping:
                    self.idle.emit()
                    self._cv.wait()
                if self._stopping:
                    return
                job = heapq.heappop(self._jobs)
                self._running = job
            if not job.alive():
                continue
            try:
                result = job.fn()
            except Exception as exc:  # a bad field must not kill the worker
                traceback.print_exc()
                message = f"{type(exc).__name__}: {exc}"
                self.failed.emit(message)
                if job.on_failed is not None:
                    self.delivered.emit(job, _Failed(message))
                continue
            self.delivered.emit(job, result)

    def _deliver(self, job: _Job, result: Any) -> None:
        if not job.alive():
            return
        if isinstance(result, _Failed):
            job.on_failed(result.message)
        else:
            job.on_done(result)

    def stop(self) -> None:
        """Drop queued jobs, finish the running one, and join the thread."""
        with self._cv:
            self._stopping = True
            self._jobs.clear()
            self._cv.notify_all()
        self.wait()
