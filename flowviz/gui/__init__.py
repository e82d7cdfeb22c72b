"""The desktop app: windows, panels, the drawing canvas and the worker threads."""
