"""Signals during a command-line export: Ctrl+C (SIGINT), SIGTERM, SIGHUP.

Within `caught()`, a signal stops the export at once: every open Writer is aborted (the
encoder killed, its partial file removed; an existing output is never touched), one line
is printed and the process exits with 128 + the signal's number, without waiting for a
frame computation that may take minutes. Only while Qt paints a frame (`deferred()`) is
the signal merely noted: a Python exception raised inside a paint event is "ignored" by
Qt (the export ran on and replaced the old file) or crashes it; the export loop asks
`is_set()` right after the frame and before the result replaces anything, and stops there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable

#: The signals an export stops cleanly on.
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
_deferring = 0  # > 0 while Qt paints: signals are only noted


class Interrupted(Exception):
    """The export stopped on a signal; exit status 128 + its number."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted ({self.name})")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


class Caught:
    """The first signal received (None: none yet)."""

    def __init__(self):
        self.signum: int | None = None

    def is_set(self) -> bool:
        return self.signum is not None

    def check(self) -> None:
        """Raise Interrupted if a signal came."""
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextlib.contextmanager
def deferred():
    """A region where a signal is only noted (Qt painting a frame)."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


@contextlib.contextmanager
def caught(say: Callable[[Interrupted], str], cleanup: Callable[[], None]):
    """Stop cleanly on SIGINT, SIGTERM and SIGHUP within the block (main thread only;
    elsewhere nothing changes). Stopping at once runs cleanup() (writers.abort_all) and
    prints say(interrupted)."""
    flag = Caught()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_signal(signum, _frame):
        flag.signum = flag.signum or signum
        if _deferring:
            return  # the export loop stops after this frame
        stop_now(Interrupted(flag.signum), say, cleanup)

    previous = {s: signal.signal(s, on_signal) for s in SIGNALS}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def stop_now(exc: Interrupted, say: Callable[[Interrupted], str], cleanup) -> None:
    """Abort every open export (cleanup), say so in one line, exit with 128 + the signal's
    number."""
    cleanup()
    sys.stderr.write("\n" + say(exc) + "\n")
    sys.stderr.flush()
    os._exit(exc.exit_status)
