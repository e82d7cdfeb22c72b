"""Undoable edits: every stroke, preset, import, clear and checkpoint load is one Session
patch that undo reverses."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class SessionEdit(QUndoCommand):
    """Apply `after` (a Session patch) on redo and `before` (the same fields' old values)
    on undo. Points are whole read-only arrays: exact undo, and a stroke of a few hundred
    points costs a few kilobytes."""

    def __init__(self, state, before: dict, after: dict, text: str):
        super().__init__(text)
        self.state, self.before, self.after = state, dict(before), dict(after)

    @classmethod
    def of(cls, state, after: dict, text: str) -> SessionEdit:
        """The edit from the state's current values of after's fields to after."""
        session = state.session
        return cls(state, {k: getattr(session, k) for k in after}, after, text)

    def redo(self):
        self.state.update(**self.after)

    def undo(self):
        self.state.update(**self.before)
