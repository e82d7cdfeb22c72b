"""Signals during a command-line export: Ctrl+C (SIGINT), SIGTERM, SIGHUP.

The handlers only note the signal; the export loop asks `caught.is_set()` before every
frame and once more before the result replaces anything (Writer's cancelled hook), then
stops there: the encoder is killed, partial files are removed, an existing output stays
untouched. A KeyboardInterrupt raised inside a Qt paint event (the default handler) was
"ignored" there, so the export ran on and replaced the old file, or crashed the process.
A second signal of the same kind while stopping takes the default way out.
"""

from __future__ import annotations

import contextlib
import signal
import threading

#: The signals an export stops cleanly on, with the exit status each ends with (128 + n).
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


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
def caught():
    """Note SIGINT, SIGTERM and SIGHUP instead of acting on them, within the block (main
    thread only; elsewhere nothing changes)."""
    flag = Caught()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def note(signum, _frame):
        if flag.signum == signum:  # asked twice: stop now, the old way
            signal.signal(signum, signal.SIG_DFL)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            signal.raise_signal(signum)
        flag.signum = flag.signum or signum

    previous = {s: signal.signal(s, note) for s in SIGNALS}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
