"""Saved sessions: a Session with its points, trained network and loss history in one
file (see sessions.file for the format). Qt-free, so a script can write a gallery."""

from flowviz.sessions.file import FILTER, FORMAT, SUFFIX, VERSION, Trained, info, load, save

__all__ = ["FILTER", "FORMAT", "SUFFIX", "VERSION", "Trained", "info", "load", "save"]
