"""Headless export of animations: frames in, finished files out (no Qt, no torch here)."""

from flowviz.export.writers import ExportError, Target, Writer, open_writer, plan

__all__ = ["ExportError", "Target", "Writer", "open_writer", "plan"]
