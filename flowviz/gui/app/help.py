"""Help: every shortcut in one table (read off the window's own actions, so it is never out
of date), the mouse gestures, and About with the version."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

MOUSE = (
    ("Mouse wheel over a view", "zoom (all views share one camera)", "View"),
    ("Drag with the right button", "zoom the view's square", "View"),
    ("Drag with the middle button", "pan", "View"),
    ("Hover the Marginal view", "the posterior weights p(z | x, t) of the probe", "View"),
    ("Click with Pick z", "choose the data point z of the Conditional view", "Edit"),
    ("Ctrl + wheel over the loss chart", "zoom the chart (Fit shows every step again)", "Train"),
)


def version() -> str:
    from importlib import metadata  # on call: 40-70 ms that the window's start need not pay

    try:
        return metadata.version("flowviz")
    except metadata.PackageNotFoundError:
        import flowviz

        return getattr(flowviz, "__version__", "unknown")


def shortcut_rows(menus: list[QMenu]) -> list[tuple[str, str, str]]:
    """(action, shortcuts, menu) for every action with a shortcut, menu by menu."""
    rows = []

    def walk(menu: QMenu, where: str) -> None:
        for a in menu.actions():
            if a.menu() is not None:
                walk(a.menu(), f"{where} › {a.menu().title().replace('&', '')}")
            elif isinstance(a, QAction) and a.shortcuts():
                keys = ", ".join(
                    s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts()
                )
                rows.append((a.text().replace("&", "").rstrip("…"), keys, where))

    for menu in menus:
        walk(menu, menu.title().replace("&", ""))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, menus: list[QMenu], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(menus) + list(MOUSE)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Action", "Keys / mouse", "Menu"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)  # the whole text where a cell elides it
                self.table.setItem(r, c, item)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # The action column takes the room the keys and menus leave and elides what does
        # not fit (an undo entry names its step: "Undo Open session …"), so the table
        # never scrolls sideways.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 560)


def show_about(parent) -> None:
    QMessageBox.about(
        parent,
        "About flowviz",
        f"<b>flowviz {version()}</b><br>Flow matching, drawn.<br><br>"
        "The marginal field u<sub>t</sub>(x) is the average of the conditional fields "
        "u<sub>t</sub>(x | z), weighted by the posterior p(z | x, t); training on the "
        "conditional target (L<sub>CFM</sub>) learns it, since L<sub>FM</sub> = "
        "L<sub>CFM</sub> + C.<br><br>MIT licence.",
    )
