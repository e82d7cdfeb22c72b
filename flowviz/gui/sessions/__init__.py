"""Session files on the window (File → Open/Save session, recent, gallery, start screen)."""

from flowviz.gui.sessions.controller import SessionsController, install_sessions

__all__ = ["SessionsController", "install_sessions"]
