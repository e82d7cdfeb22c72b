"""Regression: PySide6 6.12.0 on CPython 3.11 aborts the interpreter (Fatal Python error:
bool_dealloc) after a few thousand Signal.emit() calls carrying a bool. The emit loop runs
in a child process, so an abort shows as a non-zero exit code instead of killing pytest."""

import os
import subprocess
import sys

EMITS = 100_000

CODE = f"""
from PySide6.QtCore import QCoreApplication, QObject, Signal

app = QCoreApplication([])


class Source(QObject):
    flag = Signal(bool)
    thing = Signal(object)


class Sink(QObject):
    def __init__(self):
        super().__init__()
        self.flags = 0
        self.trues = 0
        self.things = 0

    def on_flag(self, value):
        self.flags += 1
        self.trues += value is True

    def on_thing(self, value):
        self.things += 1


source, sink = Source(), Sink()
source.flag.connect(sink.on_flag)
source.thing.connect(sink.on_thing)
for i in range({EMITS}):
    source.flag.emit(i % 2 == 0)
    source.thing.emit(i % 3 == 0)
print(sink.flags, sink.trues, sink.things)
"""


def test_many_bool_and_object_emits_do_not_abort():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(EMITS), str(EMITS // 2), str(EMITS)]
