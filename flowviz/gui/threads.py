"""Every QThread the app starts is registered here, so a test can prove none outlives it."""

from __future__ import annotations

import weakref

from PySide6.QtCore import QThread

_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


def register(thread: QThread) -> QThread:
    _threads.add(thread)
    return thread


def running_qthreads() -> list[QThread]:
    return [t for t in list(_threads) if _running(t)]


def _running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # its C++ object is already deleted: it cannot be running
        return False
