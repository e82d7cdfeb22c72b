"""The window and what starts it: main window, tool bar tools, undo edits, theme, presenter
mode, and the keeper of unsaved work (the close question, the autosave)."""


def run(argv: list[str]) -> int:
    """Open the window (imported on call: `flowviz train` never loads Qt)."""
    from flowviz.gui.app.launch import run as launch

    return launch(argv)
