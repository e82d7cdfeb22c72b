"""Undoable edits of a point set: every stroke, preset, import, clear is one command."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand


class ReplacePoints(QUndoCommand):
    """Swap the target or source points between before and after (whole arrays: exact
    undo, and a stroke of a few hundred points costs a few kilobytes)."""

    def __init__(self, state, which: str, before, after, text: str):
        super().__init__(text)
        self.state, self.which = state, which
        self.before = None if before is None else np.asarray(before, np.float32)
        self.after = None if after is None else np.asarray(after, np.float32)

    def redo(self):
        self.state.set_points(self.which, self.after)

    def undo(self):
        self.state.set_points(self.which, self.before)
